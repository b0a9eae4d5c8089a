-- Read models of the fulfillment sync, email and reports workers, and the
-- stored report files. The *_view tables are owned by their projectors and can
-- be emptied and rebuilt from events; report_files is the reports worker's
-- output and is rebuilt by re-running a report.
CREATE TABLE fulfillments_view (
    order_id       uuid        NOT NULL,
    fulfillment_id text        NOT NULL,
    shop           text        NOT NULL,
    status         text        NOT NULL,
    lines          jsonb       NOT NULL, -- [{line_id, quantity}]
    created_at     timestamptz NOT NULL, -- when the goods shipped
    recorded_at    timestamptz NOT NULL, -- when Ordermill learnt of it
    PRIMARY KEY (order_id, fulfillment_id)
);
CREATE INDEX fulfillments_view_shop ON fulfillments_view (shop, created_at DESC);

CREATE TABLE emails_view (
    id              uuid        PRIMARY KEY, -- the uuid of the email-<uuid> stream
    shop            text        NOT NULL,
    kind            text        NOT NULL,
    to_address      text        NOT NULL,
    subject         text        NOT NULL,
    status          text        NOT NULL, -- sent | failed
    ses_message_id  text        NOT NULL DEFAULT '',
    reason          text        NOT NULL DEFAULT '',
    source_event_id uuid        NOT NULL,
    created_at      timestamptz NOT NULL, -- first outcome; the stable pagination key
    updated_at      timestamptz NOT NULL
);
CREATE INDEX emails_view_shop ON emails_view (shop, created_at DESC, id DESC);

CREATE TABLE reports_view (
    id           uuid        PRIMARY KEY,
    shop         text        NOT NULL,
    kind         text        NOT NULL,
    from_date    date        NOT NULL,
    to_date      date        NOT NULL,
    status       text        NOT NULL, -- requested | completed | failed
    rows         integer     NOT NULL DEFAULT 0,
    bytes        integer     NOT NULL DEFAULT 0,
    reason       text        NOT NULL DEFAULT '',
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL,
    finished_at  timestamptz
);
CREATE INDEX reports_view_shop ON reports_view (shop, requested_at DESC, id DESC);

CREATE TABLE report_files (
    id         uuid        PRIMARY KEY,
    shop       text        NOT NULL,
    csv        bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
