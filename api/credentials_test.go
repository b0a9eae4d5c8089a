package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/relay"
)

// bcryptMarks are how bcrypt hashes start, and the field that held one in
// events; neither may leave the users table.
var bcryptMarks = []string{"$2a$", "$2b$", "$2y$", `"password_hash":`}

func carriesHash(s string) string {
	for _, m := range bcryptMarks {
		if strings.Contains(s, m) {
			return m
		}
	}
	return ""
}

// TestPasswordHashesStayInUsersTable registers users over the API and puts
// in the log a user.registered as earlier versions stored it, with its
// bcrypt hash, caused by a webhook. Then nothing readers hand out carries a
// hash: the Redis stream the relay publishes, the auditor's export, the
// webhook trace. The hash chain still verifies, and sign-in still works.
func TestPasswordHashesStayInUsersTable(t *testing.T) {
	t.Parallel()
	const shop = "hashes.myshopify.com"
	ctx := context.Background()
	env := apitest.New(t)
	owner := env.UserToken(t, shop, domain.RoleOwner)
	status(t, env.Do(t, http.MethodPost, "/api/v1/shops", owner, map[string]any{"domain": shop, "name": "Hashes",
		"currency": "JPY", "webhook_secrets": []string{"secret-hashes"}, "access_token": "shpat_hashes"}), http.StatusCreated)
	newUser := create(t, env, owner, "/api/v1/users", http.StatusCreated,
		map[string]any{"email": "new.staff@hashes.test", "name": "New", "role": "staff", "password": password})
	body := []byte(orderBody)
	status(t, deliver(t, env, "/webhooks/shopify", shop, "orders/create", "w-hashes", body, sign(body, "secret-hashes")), http.StatusOK)

	// A user.registered as stored before hashes left events.
	var received uuid.UUID
	if err := env.Platform.Pool.QueryRow(ctx, `SELECT event_id FROM events WHERE stream_id = $1 AND stream_version = 1`,
		domain.WebhookStream(shop, "w-hashes")).Scan(&received); err != nil {
		t.Fatal(err)
	}
	legacyHash, err := bcrypt.GenerateFromPassword([]byte("legacy-password-123"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	legacyID := uuid.New()
	legacy, _ := json.Marshal(map[string]any{"user_id": legacyID, "shop": shop, "email": "legacy@hashes.test", "name": "Legacy",
		"role": "staff", "password_hash": string(legacyHash), "registered_at": time.Now().UTC()})
	if _, err := env.Platform.Store.Append(ctx, domain.UserStream(legacyID), eventstore.NoStream, eventstore.NewEvent{
		Type: "user.registered", Tenant: shop, Data: legacy,
		Metadata: eventstore.Metadata{Source: "test", CausationID: received.String()},
	}); err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := env.Platform.Pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE data ? 'password_hash'`).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("events holding a password hash: %d (%v), want only the legacy one", stored, err)
	}
	var rowHash string
	if err := env.Platform.Pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, newUser.ID).Scan(&rowHash); err != nil ||
		!strings.HasPrefix(rowHash, "$2") {
		t.Fatalf("users row hash %q (%v)", rowHash, err)
	}

	// Redis: the relay publishes every user event, the legacy one without its hash.
	topic := relay.Topic(env.Config.StreamPrefix, "user")
	var entries []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		msgs, err := env.Platform.Redis.XRange(ctx, topic, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		entries = entries[:0]
		for _, m := range msgs {
			if p, ok := m.Values["payload"].(string); ok {
				entries = append(entries, p)
			}
		}
		if strings.Contains(strings.Join(entries, "\n"), legacyID.String()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not publish the legacy event to %s: %d entries", topic, len(entries))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(entries) < 3 { // the owner, the new user, the legacy one
		t.Fatalf("%s holds %d user events, want 3", topic, len(entries))
	}
	for _, e := range entries {
		if m := carriesHash(e); m != "" {
			t.Errorf("%s carries %q: %s", topic, m, e)
		}
	}

	// The export leaves the hash out and says so; the event's successor
	// still links to it.
	export := apitest.ReadBody(t, env.Do(t, http.MethodGet, "/api/v1/audit/export", owner, nil))
	if m := carriesHash(export); m != "" {
		t.Errorf("the export carries %q", m)
	}
	var legacyLine map[string]any
	for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
		if strings.Contains(line, legacyID.String()) {
			if err := json.Unmarshal([]byte(line), &legacyLine); err != nil {
				t.Fatal(err)
			}
		}
	}
	if legacyLine["withheld"] != "password_hash" || legacyLine["data"].(map[string]any)["email"] != "legacy@hashes.test" {
		t.Errorf("legacy event exported as %v", legacyLine)
	}

	// The webhook's trace lists what it caused, the legacy event among them.
	trace := apitest.ReadBody(t, env.Do(t, http.MethodGet, "/api/v1/audit/webhooks/"+shop+"/w-hashes", owner, nil))
	if !strings.Contains(trace, legacyID.String()) {
		t.Fatalf("the trace does not show the caused event: %.500s", trace)
	}
	if m := carriesHash(trace); m != "" {
		t.Errorf("the trace carries %q", m)
	}

	// The chain is computed over what is stored, hash included, and holds.
	res, err := audit.New(env.Platform.Store).Verify(ctx, nil)
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("verify: %v %+v", err, res.Findings)
	}
	env.Login(t, "new.staff@hashes.test", password)
}

// TestEmailsUniquePerShop: a shop's owner adding a user whose email another
// shop's staff use learns nothing; before, the answer was "is already
// registered". Each shop's user signs in to their own shop only.
func TestEmailsUniquePerShop(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	ownerA := env.UserToken(t, shopA, domain.RoleOwner)
	ownerB := env.UserToken(t, shopB, domain.RoleOwner)
	const passwordB = "another-horse-battery"
	a := create(t, env, ownerA, "/api/v1/users", http.StatusCreated,
		map[string]any{"email": "jo@shared.test", "name": "Jo A", "role": "staff", "password": password})
	b := create(t, env, ownerB, "/api/v1/users", http.StatusCreated,
		map[string]any{"email": "JO@shared.test", "name": "Jo B", "role": "staff", "password": passwordB})
	if a.ID == b.ID {
		t.Fatal("both shops got the same user")
	}
	// Within a shop an email is still one user's.
	p := apitest.Problem(t, env.Do(t, http.MethodPost, "/api/v1/users", ownerB,
		map[string]any{"email": "jo@shared.test", "name": "Jo B2", "role": "staff", "password": passwordB}), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "email" || p.Errors[0].Message != "is already registered in this shop" {
		t.Fatalf("errors %+v", p.Errors)
	}

	for _, c := range []struct{ shop, pw, id string }{{shopA, password, a.ID}, {shopB, passwordB, b.ID}} {
		access, _ := env.LoginShop(t, c.shop, "jo@shared.test", c.pw)
		var profile struct{ ID, Shop string }
		apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/profile", access, nil), &profile)
		if profile.ID != c.id || profile.Shop != c.shop {
			t.Errorf("signed in to %s as %+v, want user %s", c.shop, profile, c.id)
		}
	}
	// One shop's password does not open the other shop's account.
	apitest.Problem(t, env.Do(t, http.MethodPost, "/auth/login", "",
		map[string]string{"shop": shopA, "email": "jo@shared.test", "password": passwordB}), http.StatusUnauthorized)
}

// TestTokensDieWithTheirOwner is the case: a deactivated owner's
// owner-role token created a new owner. Now deactivation revokes the tokens
// that derive from the user (made by them, or by their tokens), each use
// checks the owner too, and a demotion revokes the tokens its new role does
// not cover.
func TestTokensDieWithTheirOwner(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	admin := env.UserToken(t, shopA, domain.RoleOwner)
	leaver := env.CreateUser(t, shopA, "leaver@alpha.test", domain.RoleOwner, password)
	leaverAccess, _ := env.Login(t, "leaver@alpha.test", password)
	ownerToken := create(t, env, leaverAccess, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "ci", "role": "owner"})
	staffToken := create(t, env, leaverAccess, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "erp", "role": "staff"})
	// A token made by a token derives from the same user.
	minted := create(t, env, ownerToken.Token, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "minted", "role": "auditor"})
	newOwner := func(token string) *http.Response {
		return env.Do(t, http.MethodPost, "/api/v1/users", token, map[string]any{
			"email": "owner-" + uuid.NewString()[:8] + "@alpha.test", "name": "Another", "role": "owner", "password": password})
	}
	status(t, newOwner(ownerToken.Token), http.StatusCreated)
	for _, tok := range []created{ownerToken, staffToken, minted} {
		status(t, env.Do(t, http.MethodGet, "/api/v1/profile", tok.Token, nil), http.StatusOK)
	}

	status(t, env.Do(t, http.MethodDelete, "/api/v1/users/"+leaver.String(), admin, nil), http.StatusNoContent)
	apitest.Problem(t, newOwner(ownerToken.Token), http.StatusUnauthorized)
	for _, tok := range []created{ownerToken, staffToken, minted} {
		apitest.Problem(t, env.Do(t, http.MethodGet, "/api/v1/profile", tok.Token, nil), http.StatusUnauthorized)
	}
	var list struct {
		Items []struct {
			ID        string     `json:"id"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"items"`
	}
	apitest.Decode(t, env.Do(t, http.MethodGet, "/api/v1/tokens", admin, nil), &list)
	revoked := map[string]bool{}
	for _, it := range list.Items {
		revoked[it.ID] = it.RevokedAt != nil
	}
	for _, tok := range []created{ownerToken, staffToken, minted} {
		if !revoked[tok.ID] {
			t.Errorf("token %s of the deactivated user is not revoked", tok.ID)
		}
	}
	// Each use checks the owner: a revocation lost (here, undone in the
	// table) leaves the token as dead.
	if _, err := env.Platform.Pool.Exec(context.Background(), `UPDATE api_tokens SET revoked_at = NULL WHERE id = $1`, ownerToken.ID); err != nil {
		t.Fatal(err)
	}
	apitest.Problem(t, newOwner(ownerToken.Token), http.StatusUnauthorized)

	// Demoted to staff: the owner-role token goes, the staff-role one stays.
	demoted := env.CreateUser(t, shopA, "demoted@alpha.test", domain.RoleOwner, password)
	demotedAccess, _ := env.Login(t, "demoted@alpha.test", password)
	high := create(t, env, demotedAccess, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "high", "role": "owner"})
	low := create(t, env, demotedAccess, "/api/v1/tokens", http.StatusCreated, map[string]any{"name": "low", "role": "staff"})
	status(t, env.Do(t, http.MethodPatch, "/api/v1/users/"+demoted.String(), admin, map[string]any{"role": "staff"}), http.StatusOK)
	apitest.Problem(t, newOwner(high.Token), http.StatusUnauthorized)
	status(t, env.Do(t, http.MethodGet, "/api/v1/profile", low.Token, nil), http.StatusOK)
}
