package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

var userID = uuid.MustParse("44444444-4444-4444-8444-444444444444")

func applyAll(t *testing.T, apply func(Event), evs []Event, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		apply(e)
	}
}

func TestRoleCan(t *testing.T) {
	all := []Permission{PermReadOrders, PermWriteOrders, PermReadInventory, PermWriteInventory, PermReadWebhooks,
		PermManageUsers, PermManageTokens, PermManageShops, PermAudit}
	allowed := map[Role][]Permission{
		RoleOwner:   all,
		RoleStaff:   {PermReadOrders, PermWriteOrders, PermReadInventory, PermWriteInventory, PermReadWebhooks},
		RoleAuditor: {PermReadOrders, PermReadInventory, PermReadWebhooks, PermAudit},
		Role("x"):   nil,
	}
	for role, perms := range allowed {
		grant := map[Permission]bool{}
		for _, p := range perms {
			grant[p] = true
		}
		for _, p := range all {
			if role.Can(p) != grant[p] {
				t.Errorf("%s.Can(%s) = %v, want %v", role, p, role.Can(p), grant[p])
			}
		}
	}
}

func TestParseRole(t *testing.T) {
	for in, ok := range map[string]bool{"owner": true, "staff": true, "auditor": true, "Owner": false, "": false, "admin": false} {
		r, err := ParseRole(in)
		var ve *ValidationError
		if ok != (err == nil) || (ok && string(r) != in) || (!ok && !errors.As(err, &ve)) {
			t.Errorf("ParseRole(%q) = %q, %v", in, r, err)
		}
	}
}

func TestShopLifecycle(t *testing.T) {
	tests := []struct {
		name, domain, shopName, currency string
		shopifyID                        int64
		valid                            bool
	}{
		{"valid", "demo.myshopify.com", "Demo", "USD", 0, true},
		{"with Shopify id", "demo.myshopify.com", "Demo", "USD", 954889, true},
		{"custom domain", "shop.example.com", "Demo", "USD", 0, false},
		{"upper case", "Demo.myshopify.com", "Demo", "USD", 0, false},
		{"no name", "demo.myshopify.com", " ", "USD", 0, false},
		{"bad currency", "demo.myshopify.com", "Demo", "US", 0, false},
		{"negative Shopify id", "demo.myshopify.com", "Demo", "USD", -1, false},
	}
	for _, tt := range tests {
		_, err := RegisterShop(tt.domain, tt.shopName, tt.currency, tt.shopifyID, t0)
		var ve *ValidationError
		if tt.valid != (err == nil) || (!tt.valid && !errors.As(err, &ve)) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}

	evs, err := RegisterShop(demoShop, "Demo", "JPY", 0, t0)
	s := &Shop{}
	if _, err := s.Uninstall(t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("uninstall unknown shop: %v", err)
	}
	applyAll(t, s.Apply, evs, err)
	if !s.Installed() || s.Domain() != demoShop || s.Currency() != "JPY" || s.Name() != "Demo" || !s.RegisteredAt().Equal(t0) {
		t.Fatalf("shop = %+v", s)
	}
	more, err := s.Uninstall(t0.Add(time.Hour))
	applyAll(t, s.Apply, more, err)
	if s.Installed() {
		t.Fatal("uninstalled shop still installed")
	}
	if _, err := s.Uninstall(t0); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("second uninstall: %v", err)
	}
	replayed, err := NewShopFromHistory(roundTrip(t, append(evs, more...)))
	if err != nil || *replayed != *s {
		t.Fatalf("replay: %+v, %v", replayed, err)
	}

	// Installing again resumes the shop; an app/uninstalled triggered before
	// that reinstall, arriving late, does not uninstall it.
	back, err := s.Reinstall(t0.Add(2 * time.Hour))
	applyAll(t, s.Apply, back, err)
	if !s.Installed() || len(back) != 1 {
		t.Fatalf("reinstalled shop: installed %v after %v", s.Installed(), back)
	}
	if again, err := s.Reinstall(t0.Add(3 * time.Hour)); err != nil || len(again) != 0 {
		t.Errorf("reinstalling an installed shop: %v, %v", again, err)
	}
	if late, err := s.Uninstall(t0.Add(90 * time.Minute)); err != nil || len(late) != 0 {
		t.Errorf("a late uninstall from before the reinstall: %v, %v", late, err)
	}
	if later, err := s.Uninstall(t0.Add(4 * time.Hour)); err != nil || len(later) != 1 {
		t.Errorf("an uninstall after the reinstall: %v, %v", later, err)
	}
	replayed, err = NewShopFromHistory(roundTrip(t, append(append(evs, more...), back...)))
	if err != nil || *replayed != *s {
		t.Fatalf("replay with the reinstall: %+v, %v", replayed, err)
	}
}

func TestUserLifecycle(t *testing.T) {
	const pw = "tidal-orchard-lantern"
	cmd := RegisterUserCommand{UserID: userID, Shop: demoShop, Email: " Jane@Example.COM ", Name: "Jane", Role: RoleStaff, Password: pw, At: t0}

	invalidCmds := map[string]func(c *RegisterUserCommand){
		"bad email":       func(c *RegisterUserCommand) { c.Email = "jane" },
		"bad role":        func(c *RegisterUserCommand) { c.Role = "admin" },
		"short password":  func(c *RegisterUserCommand) { c.Password = "tidal-orchar"[:11] },
		"common password": func(c *RegisterUserCommand) { c.Password = "QWERTY123456" },
		"email's name":    func(c *RegisterUserCommand) { c.Password = "tidal-JANE-lantern" },
		"no id":           func(c *RegisterUserCommand) { c.UserID = uuid.Nil },
		"no time":         func(c *RegisterUserCommand) { c.At = time.Time{} },
	}
	for name, edit := range invalidCmds {
		c := cmd
		edit(&c)
		var ve *ValidationError
		if _, err := RegisterUser(c); !errors.As(err, &ve) {
			t.Errorf("%s: err = %v", name, err)
		}
	}

	evs, err := RegisterUser(cmd)
	u := &User{}
	applyAll(t, u.Apply, evs, err)
	if u.Email() != "jane@example.com" || u.Role() != RoleStaff || !u.Active() || u.ID() != userID || u.Shop() != demoShop || u.Name() != "Jane" {
		t.Fatalf("user = %+v", u)
	}
	// No event carries the hash: a user rebuilt from events never signs in;
	// one restored from its users-table row does.
	if u.CheckPassword(pw) {
		t.Fatal("a user rebuilt from events passed CheckPassword")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	record := UserRecord{ID: u.ID(), Shop: u.Shop(), Email: u.Email(), Name: u.Name(), Role: u.Role(), Active: true,
		Version: u.Version(), PasswordHash: string(hash)}
	signIn := UserFromRecord(record)
	if !signIn.CheckPassword(pw) || signIn.CheckPassword("wrong") || signIn.ID() != userID || signIn.Role() != RoleStaff {
		t.Fatalf("CheckPassword gave the wrong answer for %+v", signIn)
	}
	record.Active = false
	if UserFromRecord(record).CheckPassword(pw) {
		t.Fatal("a deactivated user passed CheckPassword")
	}
	if evs, err := u.ChangeRole(RoleStaff, t0); err != nil || evs != nil {
		t.Fatalf("same role: %v, %v", evs, err)
	}
	var ve *ValidationError
	if _, err := u.ChangeRole("root", t0); !errors.As(err, &ve) {
		t.Fatalf("bad role: %v", err)
	}
	more, err := u.ChangeRole(RoleOwner, t0)
	applyAll(t, u.Apply, more, err)
	evs = append(evs, more...)
	more, err = u.Deactivate(t0)
	applyAll(t, u.Apply, more, err)
	evs = append(evs, more...)
	if u.Active() || u.Role() != RoleOwner {
		t.Fatalf("deactivated user = %+v", u)
	}
	for name, cmd := range map[string]func() ([]Event, error){
		"deactivate twice":        func() ([]Event, error) { return u.Deactivate(t0) },
		"change role deactivated": func() ([]Event, error) { return u.ChangeRole(RoleStaff, t0) },
	} {
		var te *TransitionError
		if _, err := cmd(); !errors.As(err, &te) || te.From != StatusDeactivated {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	replayed, err := NewUserFromHistory(roundTrip(t, evs))
	if err != nil || *replayed != *u {
		t.Fatalf("replay: %+v, %v", replayed, err)
	}
	if _, err := (&User{}).Deactivate(t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestAPITokenLifecycle(t *testing.T) {
	sum := sha256.Sum256([]byte("om_secret"))
	cmd := CreateAPITokenCommand{
		TokenID: uuid.MustParse("55555555-5555-4555-8555-555555555555"), Shop: demoShop, Name: "ERP", Role: RoleAuditor,
		TokenHash: hex.EncodeToString(sum[:]), Prefix: "om_sec", ExpiresAt: t0.Add(24 * time.Hour), At: t0,
	}
	invalidCmds := map[string]func(c *CreateAPITokenCommand){
		"clear token":       func(c *CreateAPITokenCommand) { c.TokenHash = "om_secret" },
		"upper-case hash":   func(c *CreateAPITokenCommand) { c.TokenHash = "AB" + c.TokenHash[2:] },
		"long prefix":       func(c *CreateAPITokenCommand) { c.Prefix = "om_secret_too_long" },
		"expired at birth":  func(c *CreateAPITokenCommand) { c.ExpiresAt = t0 },
		"no name":           func(c *CreateAPITokenCommand) { c.Name = "" },
		"unknown role":      func(c *CreateAPITokenCommand) { c.Role = "" },
		"invalid shop":      func(c *CreateAPITokenCommand) { c.Shop = "" },
		"missing timestamp": func(c *CreateAPITokenCommand) { c.At = time.Time{} },
	}
	for name, edit := range invalidCmds {
		c := cmd
		edit(&c)
		var ve *ValidationError
		if _, err := CreateAPIToken(c); !errors.As(err, &ve) {
			t.Errorf("%s: err = %v", name, err)
		}
	}

	evs, err := CreateAPIToken(cmd)
	tok := &APIToken{}
	applyAll(t, tok.Apply, evs, err)
	usable := []struct {
		at   time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(23 * time.Hour), true},
		{t0.Add(24 * time.Hour), false},
	}
	for _, u := range usable {
		if tok.Usable(u.at) != u.want {
			t.Errorf("Usable(%v) = %v, want %v", u.at, !u.want, u.want)
		}
	}
	if tok.Role() != RoleAuditor || tok.Prefix() != "om_sec" || tok.TokenHash() != cmd.TokenHash || tok.Revoked() ||
		tok.Shop() != demoShop || tok.Name() != "ERP" || tok.ID() != cmd.TokenID || !tok.ExpiresAt().Equal(cmd.ExpiresAt) {
		t.Fatalf("token = %+v", tok)
	}
	more, err := tok.Revoke(t0.Add(time.Hour))
	applyAll(t, tok.Apply, more, err)
	if tok.Usable(t0) || !tok.Revoked() {
		t.Fatal("revoked token still usable")
	}
	if _, err := tok.Revoke(t0); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("second revoke: %v", err)
	}
	replayed, err := NewAPITokenFromHistory(roundTrip(t, append(evs, more...)))
	if err != nil || *replayed != *tok {
		t.Fatalf("replay: %+v, %v", replayed, err)
	}

	cmd.ExpiresAt = time.Time{}
	evs, err = CreateAPIToken(cmd)
	forever := &APIToken{}
	applyAll(t, forever.Apply, evs, err)
	if !forever.Usable(t0.Add(100 * 365 * 24 * time.Hour)) {
		t.Fatal("token without expiry expired")
	}
	if (&APIToken{}).Usable(t0) {
		t.Fatal("unknown token usable")
	}
}

// TestAPITokenBackedByOwner: a token has no more authority than the user it
// derives from.
func TestAPITokenBackedByOwner(t *testing.T) {
	sum := sha256.Sum256([]byte("om_secret"))
	record := APITokenRecord{ID: uuid.New(), Shop: demoShop, Name: "ci", Role: RoleOwner, TokenHash: hex.EncodeToString(sum[:]),
		Prefix: "om_sec", Version: 1}
	owner := func(role Role, active bool, shop string) *User {
		return UserFromRecord(UserRecord{ID: userID, Shop: shop, Email: "o@example.com", Name: "O", Role: role, Active: active, Version: 1})
	}
	for _, c := range []struct {
		name      string
		tokenRole Role
		owner     *User
		usable    bool
	}{
		{"active owner", RoleOwner, owner(RoleOwner, true, demoShop), true},
		{"deactivated owner", RoleOwner, owner(RoleOwner, false, demoShop), false},
		{"demoted to staff", RoleOwner, owner(RoleStaff, true, demoShop), false},
		{"staff token of a staff user", RoleStaff, owner(RoleStaff, true, demoShop), true},
		{"auditor token of a staff user", RoleAuditor, owner(RoleStaff, true, demoShop), false},
		{"owner of another shop", RoleStaff, owner(RoleOwner, true, "other.myshopify.com"), false},
		{"unknown owner", RoleStaff, &User{}, false},
	} {
		r := record
		r.Role = c.tokenRole
		tok := APITokenFromRecord(r)
		if got := tok.UsableBy(c.owner, t0); got != c.usable {
			t.Errorf("%s: UsableBy = %v, want %v", c.name, got, c.usable)
		}
		evs, err := tok.RevokeForOwner(c.owner, t0)
		if err != nil || (len(evs) == 1) == c.usable {
			t.Errorf("%s: RevokeForOwner = %v, %v", c.name, evs, err)
		}
	}
	revoked := record
	revoked.Revoked = true
	if evs, err := APITokenFromRecord(revoked).RevokeForOwner(&User{}, t0); evs != nil || err != nil {
		t.Errorf("revoking a revoked token again: %v, %v", evs, err)
	}
	if APITokenFromRecord(revoked).UsableBy(owner(RoleOwner, true, demoShop), t0) {
		t.Error("a revoked token is usable")
	}
	if !RoleOwner.Covers(RoleStaff) || !RoleOwner.Covers(RoleAuditor) || RoleStaff.Covers(RoleAuditor) || RoleAuditor.Covers(RoleStaff) ||
		!RoleStaff.Covers(RoleStaff) || RoleStaff.Covers(RoleOwner) {
		t.Error("Covers does not follow the permissions")
	}
}

func TestValidEmail(t *testing.T) {
	for in, want := range map[string]bool{
		"jane@example.com": true, "j.d+tag@mail.example.co.uk": true,
		"": false, "jane": false, "@example.com": false, "jane@": false, "jane@example": false,
		"jane@@example.com": false, "ja ne@example.com": false, "jane@example..com": false, "jane@.example.com": false,
	} {
		if got := ValidEmail(in); got != want {
			t.Errorf("ValidEmail(%q) = %v, want %v", in, got, want)
		}
	}
}
