// Package shops keeps the registered Shopify shops and their credentials:
// webhook secrets (up to two, for rotation), the Admin API access token and
// what renews it (tokens.go), all sealed at rest with the master key.
package shops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/shopify"
)

var (
	// ErrUnknownShop means no shop is registered under the domain.
	ErrUnknownShop = errors.New("unknown shop")
	// ErrShopExists means the domain is already registered.
	ErrShopExists = errors.New("shop already registered")
)

// MaxWebhookSecrets is how many webhook secrets a shop may have active.
const MaxWebhookSecrets = 2

// Shop is a registered shop as the API shows it: never its secrets.
type Shop struct {
	Domain         string     `json:"domain"`
	Name           string     `json:"name"`
	Currency       string     `json:"currency"`
	ShopifyID      *int64     `json:"shopify_id"` // nil when not given
	Installed      bool       `json:"installed"`
	WebhookSecrets int        `json:"webhook_secrets"` // how many are active
	RegisteredAt   time.Time  `json:"registered_at"`
	UninstalledAt  *time.Time `json:"uninstalled_at"`
}

// Registration is a shop registered with credentials given by hand (the
// API, the CLI, the seed): what app.RegisterShop takes.
type Registration struct {
	Domain         string
	Name           string
	Currency       string
	ShopifyID      int64 // Shopify's id of the shop; 0 when unknown
	WebhookSecrets []string
	// AccessToken is a token made by hand (a custom or development app);
	// empty when the shop gets its token through OAuth or, with ClientID and
	// ClientSecret of the merchant's own app, the client-credentials grant.
	AccessToken  string
	ClientID     string
	ClientSecret string
}

// Rotation replaces a shop's credentials; nil fields stay as they are.
type Rotation struct {
	WebhookSecrets []string
	AccessToken    *string
}

// Registry reads and writes shops. Webhook secrets are cached in the process
// for CacheTTL so webhook capture does not read the table on every request;
// a rotation made by another process is seen within that time.
type Registry struct {
	pool *pgxpool.Pool
	key  *secrets.Key
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	cache map[string]cachedSecrets

	renewer Renewer // nil: expiring tokens cannot be renewed
}

type cachedSecrets struct {
	secrets [][]byte // nil: no such shop
	until   time.Time
}

// CacheTTL is how long webhook secrets (and unknown domains) are cached.
const CacheTTL = 10 * time.Second

// NewRegistry returns a registry over pool, sealing secrets with key.
func NewRegistry(pool *pgxpool.Pool, key *secrets.Key) *Registry {
	return &Registry{pool: pool, key: key, ttl: CacheTTL, now: time.Now, cache: map[string]cachedSecrets{}}
}

func secretContext(shop, field string) string { return "shop:" + shop + ":" + field }

func validSecrets(list []string) error {
	if len(list) == 0 || len(list) > MaxWebhookSecrets {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "webhook_secrets", Message: fmt.Sprintf("must hold 1 to %d secrets", MaxWebhookSecrets)}}}
	}
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: "webhook_secrets", Message: "must not be empty"}}}
		}
	}
	return nil
}

func (r *Registry) sealSecrets(shop string, list []string) [][]byte {
	out := make([][]byte, len(list))
	for i, s := range list {
		out[i] = r.key.Seal([]byte(s), secretContext(shop, "webhook_secret"))
	}
	return out
}

// Check validates what a registration adds to the domain's shop: the
// credentials. The shop's own fields are the domain's to check.
func (reg Registration) Check() error {
	if err := validSecrets(reg.WebhookSecrets); err != nil {
		return err
	}
	if (reg.ClientID == "") != (reg.ClientSecret == "") {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "client_secret", Message: "client id and client secret go together"}}}
	}
	if reg.ClientID != "" && reg.AccessToken != "" {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "access_token", Message: "give an access token or the app's client credentials, not both"}}}
	}
	return nil
}

// Insert stores a new shop's row with its credentials, sealed, in tx: the
// transaction that appends its shop.registered, so that the table and the
// history never disagree. reg holds the shop as the domain registered it.
// Call Forget once tx has committed.
func (r *Registry) Insert(ctx context.Context, tx pgx.Tx, reg Registration, at time.Time) error {
	var token, clientSecret []byte
	var clientID *string
	grant := shopify.GrantStatic
	if strings.TrimSpace(reg.AccessToken) != "" {
		token = r.key.Seal([]byte(reg.AccessToken), secretContext(reg.Domain, "access_token"))
	}
	if reg.ClientID != "" {
		grant, clientID = shopify.GrantClientCredentials, &reg.ClientID
		clientSecret = r.key.Seal([]byte(reg.ClientSecret), secretContext(reg.Domain, "client_secret"))
	}
	_, err := tx.Exec(ctx, `INSERT INTO shops (domain, name, currency, shopify_id, webhook_secrets, access_token, registered_at,
		token_grant, client_id, client_secret)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, reg.Domain, reg.Name, reg.Currency, optionalID(reg.ShopifyID),
		r.sealSecrets(reg.Domain, reg.WebhookSecrets), token, at, grant, clientID, clientSecret)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%s: %w", reg.Domain, ErrShopExists)
	}
	return err
}

const shopColumns = `domain, name, currency, shopify_id, installed, cardinality(webhook_secrets), registered_at, uninstalled_at`

func scanShop(row pgx.CollectableRow) (Shop, error) {
	var s Shop
	err := row.Scan(&s.Domain, &s.Name, &s.Currency, &s.ShopifyID, &s.Installed, &s.WebhookSecrets, &s.RegisteredAt, &s.UninstalledAt)
	return s, err
}

// Get returns one shop.
func (r *Registry) Get(ctx context.Context, shop string) (Shop, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+shopColumns+` FROM shops WHERE domain = $1`, strings.ToLower(shop))
	if err != nil {
		return Shop{}, err
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanShop)
	if errors.Is(err, pgx.ErrNoRows) {
		return Shop{}, fmt.Errorf("%s: %w", shop, ErrUnknownShop)
	}
	return s, err
}

// List returns every registered shop, by domain.
func (r *Registry) List(ctx context.Context) ([]Shop, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+shopColumns+` FROM shops ORDER BY domain`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanShop)
}

// Rotate replaces a shop's webhook secrets and/or access token.
func (r *Registry) Rotate(ctx context.Context, shop string, rot Rotation) (Shop, error) {
	shop = strings.ToLower(shop)
	if rot.WebhookSecrets == nil && rot.AccessToken == nil {
		return Shop{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Message: "give webhook_secrets or access_token"}}}
	}
	var sealedToken []byte
	var secretList [][]byte
	if rot.WebhookSecrets != nil {
		if err := validSecrets(rot.WebhookSecrets); err != nil {
			return Shop{}, err
		}
		secretList = r.sealSecrets(shop, rot.WebhookSecrets)
	}
	if rot.AccessToken != nil {
		if strings.TrimSpace(*rot.AccessToken) == "" {
			return Shop{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "access_token", Message: "must not be empty"}}}
		}
		sealedToken = r.key.Seal([]byte(*rot.AccessToken), secretContext(shop, "access_token"))
	}
	// A token given by hand never expires and replaces whatever renewed the old one.
	tag, err := r.pool.Exec(ctx, `UPDATE shops SET webhook_secrets = coalesce($2, webhook_secrets),
		access_token = coalesce($3, access_token),
		token_grant = CASE WHEN $3::bytea IS NULL THEN token_grant ELSE 'static' END,
		access_token_expires_at = CASE WHEN $3::bytea IS NULL THEN access_token_expires_at END,
		refresh_token = CASE WHEN $3::bytea IS NULL THEN refresh_token END,
		refresh_token_expires_at = CASE WHEN $3::bytea IS NULL THEN refresh_token_expires_at END,
		updated_at = now() WHERE domain = $1`, shop, secretList, sealedToken)
	if err != nil {
		return Shop{}, err
	}
	if tag.RowsAffected() == 0 {
		return Shop{}, fmt.Errorf("%s: %w", shop, ErrUnknownShop)
	}
	r.Forget(shop)
	return r.Get(ctx, shop)
}

// Signer is what is known of the shop that signed a webhook: its domain
// and, when it was given at registration, its Shopify id.
func (r *Registry) Signer(ctx context.Context, shop string) (shopify.Signer, error) {
	s := shopify.Signer{Domain: strings.ToLower(shop)}
	var id *int64
	err := r.pool.QueryRow(ctx, `SELECT shopify_id FROM shops WHERE domain = $1`, s.Domain).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, nil // only the domain is known
	}
	if id != nil {
		s.ShopID = *id
	}
	return s, err
}

// WebhookSecrets returns the shop's active webhook secrets, from the cache
// when fresh. An unregistered domain is ErrUnknownShop (also cached, so a
// flood of forged requests does not reach the database each time).
func (r *Registry) WebhookSecrets(ctx context.Context, shop string) ([][]byte, error) {
	shop = strings.ToLower(shop)
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[shop]
	r.mu.Unlock()
	if !ok || now.After(c.until) {
		var sealed [][]byte
		err := r.pool.QueryRow(ctx, `SELECT webhook_secrets FROM shops WHERE domain = $1`, shop).Scan(&sealed)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		c = cachedSecrets{until: now.Add(r.ttl)}
		for _, s := range sealed {
			plain, err := r.key.Open(s, secretContext(shop, "webhook_secret"))
			if err != nil {
				return nil, fmt.Errorf("shop %s webhook secret: %w", shop, err)
			}
			c.secrets = append(c.secrets, plain)
		}
		r.mu.Lock()
		if len(r.cache) > 10_000 { // bounded: forged domains must not grow it forever
			clear(r.cache)
		}
		r.cache[shop] = c
		r.mu.Unlock()
	}
	if c.secrets == nil {
		return nil, fmt.Errorf("%s: %w", shop, ErrUnknownShop)
	}
	return c.secrets, nil
}

// Forget drops what the process cached of shop; call it once a change to
// the shop's row has committed.
func (r *Registry) Forget(shop string) {
	r.mu.Lock()
	delete(r.cache, shop)
	r.mu.Unlock()
}
