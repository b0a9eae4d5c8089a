// Shapes of the API's JSON, as the Go handlers in api/ write them. Money is
// integer minor units of `currency`; Shopify ids are strings (they exceed 2^53).
// src/api/spec-check.ts keeps these in step with api/openapi.yaml.

export type Role = 'owner' | 'staff' | 'auditor';

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Profile {
  kind: 'user' | 'token';
  id: string;
  shop: string;
  role: Role;
  permissions: string[];
  email?: string;
  name?: string;
}

export type OrderStatus =
  | 'placed'
  | 'paid'
  | 'partially_fulfilled'
  | 'fulfilled'
  | 'cancelled'
  | 'partially_refunded'
  | 'refunded';
export type FinancialStatus =
  | 'pending'
  | 'authorized'
  | 'partially_paid'
  | 'paid'
  | 'partially_refunded'
  | 'refunded'
  | 'voided'
  | 'expired';
export type FulfillmentStatus = 'unfulfilled' | 'partial' | 'fulfilled' | 'restocked';

export interface OrderSummary {
  id: string;
  name: string;
  shopify_id: string | null;
  source: 'api' | 'shopify';
  email: string;
  customer_name: string;
  currency: string;
  subtotal: number;
  total: number;
  paid: number;
  refunded: number;
  status: OrderStatus;
  financial_status: FinancialStatus;
  fulfillment_status: FulfillmentStatus;
  item_count: number;
  placed_at: string;
  cancelled_at: string | null;
  tags: string[];
  test: boolean;
  version: number;
}

export interface OrderLine {
  id: string;
  sku: string;
  variant_id: string | null;
  inventory_key: string;
  title: string;
  quantity: number;
  original_quantity: number;
  fulfilled_quantity: number;
  refunded_quantity: number;
  unit_price: number;
}

export interface OrderTotals {
  discounts: number;
  shipping: number;
  tax: number;
  original_subtotal: number;
  original_total: number;
  original_discounts: number;
  original_shipping: number;
  original_tax: number;
}

export interface LineQuantity {
  line_id: string;
  quantity: number;
}

export interface OrderShipment {
  id: string;
  status: string;
  lines: LineQuantity[];
  tracking_company: string;
  tracking_numbers: string[];
  tracking_urls: string[];
  created_at: string;
}

export interface OrderRefund {
  id: string;
  amount: number;
  lines: LineQuantity[];
  reason: string;
  refunded_at: string;
}

export interface OrderDetail extends OrderSummary {
  totals: OrderTotals;
  note: string;
  cancel_reason: string;
  shipments: OrderShipment[];
  refunds: OrderRefund[];
  lines: OrderLine[];
}

export interface Written {
  position: string;
}

export interface EventMetadata {
  correlation_id?: string;
  causation_id?: string;
  actor?: string;
  request_id?: string;
  source?: string;
}

export interface StoredEvent {
  position: string;
  event_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recorded_at: string;
  hash: string;
  prev_hash: string;
}

export interface InventoryItem {
  key: string;
  on_hand: number;
  reserved: number;
  available: number;
  backordered: number;
  version: number;
}

// The shapes below follow the API description in the issue; their handlers
// had not landed when this was written, so every page reads them defensively.

export interface Webhook {
  id: string; // the webhook.received event id; events it caused carry it as causation_id
  shop: string;
  webhook_id: string;
  topic: string;
  event_id: string;
  received_at: string;
  status: string;
  result?: string;
  error?: string;
  order_id: string | null;
  position: string;
}

export interface WebhookOutcome {
  type: string;
  version: number;
  recorded_at: string;
  data: unknown;
  metadata: EventMetadata;
}

export interface WebhookDetail {
  webhook: Webhook;
  headers: Record<string, string | string[]>;
  /** Whether an active secret of the shop signs the stored body; the signature itself is never served. */
  signature: 'valid' | 'invalid' | 'erased';
  body_base64: string;
  /** The body's key was destroyed by customers/redact or shop/redact. */
  body_erased: boolean;
  triggered_at?: string;
  api_version?: string;
  correlation_id?: string;
  outcomes: WebhookOutcome[];
}

export interface DeadLetter {
  id: string;
  topic?: string;
  handler?: string;
  message_id?: string;
  error?: string;
  attempts?: number;
  failed_at?: string;
  created_at?: string;
  requeued_at?: string | null;
}

export interface Email {
  id: string;
  to?: string;
  recipient?: string;
  subject?: string;
  template?: string;
  kind?: string;
  status?: string;
  order_id?: string;
  sent_at?: string | null;
  created_at?: string;
}

export interface Report {
  id: string;
  kind: string;
  status: string;
  from?: string;
  to?: string;
  progress?: number;
  requested_at?: string;
  created_at?: string;
  completed_at?: string | null;
  error?: string | null;
}

export interface AuditFinding {
  kind:
    | 'altered'
    | 'broken'
    | 'missing'
    | 'out_of_sequence'
    | 'checkpoint_signature'
    | 'checkpoint_head'
    | 'checkpoint_count'
    | 'checkpoint_export';
  stream_id: string;
  stream_version: number;
  global_position: number;
  detail: string;
}

/** GET /api/v1/audit/verify: the caller's shop's streams, verified now. */
export interface AuditVerify {
  shop: string;
  ok: boolean;
  started_at: string;
  finished_at: string;
  events: number;
  streams: number;
  checkpoint: {
    id: number;
    signed_at: string;
    key_id: string;
    trusted_first_key: boolean;
  } | null;
  findings: AuditFinding[];
}

export interface User {
  id: string;
  shop: string;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  created_at: string;
  version: number;
}

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface CreatedToken extends ApiToken {
  token: string;
}

export interface Shop {
  domain: string;
  name: string;
  currency: string;
  installed: boolean;
  webhook_secrets: number; // how many are active; secrets are never returned
  registered_at: string;
  uninstalled_at: string | null;
}

/** A compliance webhook Shopify sent (GET /api/v1/privacy/requests). */
export interface PrivacyRequest {
  id: string;
  topic: string;
  customer_id?: number;
  orders?: number[];
  received_at: string;
  status: 'export_ready' | 'erased' | 'pending';
}

export interface Items<T> {
  items: T[];
}
