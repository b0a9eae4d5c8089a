package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/crypto/bcrypt"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// ErrEmailTaken is returned (alongside a ValidationError on "email") when
// another user of the same shop already has the email. Emails are unique per
// shop only, so the answer says nothing about other shops.
var ErrEmailTaken = errors.New("email already registered")

// NewUser is the input of RegisterUser. Password is plain text; only its
// bcrypt hash is stored, in the users table and nowhere else.
type NewUser struct {
	Email      string
	Name       string
	Role       domain.Role
	Password   string
	BcryptCost int // 0: bcrypt.DefaultCost
}

// RegisterUser checks the user and the password policy, hashes the password
// and appends user.registered, inserting the users row (which alone holds
// the hash) in the same transaction so the user can sign in at once. The
// event is what the email worker turns into a welcome email.
func (a *App) RegisterUser(ctx context.Context, by Caller, in NewUser) (uuid.UUID, error) {
	id := uuid.New()
	cmd := domain.RegisterUserCommand{
		UserID: id, Shop: by.Shop, Email: in.Email, Name: in.Name, Role: in.Role, Password: in.Password, At: a.now(),
	}
	var (
		hash []byte
		e    domain.UserRegistered
	)
	_, err := Update(ctx, a.store, domain.UserStream(id),
		func([]domain.Event) (*domain.User, error) { return &domain.User{}, nil },
		func(*domain.User) ([]domain.Event, error) {
			events, err := domain.RegisterUser(cmd)
			if err != nil {
				return nil, err
			}
			e = events[0].(domain.UserRegistered)
			cost := in.BcryptCost
			if cost == 0 {
				cost = bcrypt.DefaultCost
			}
			if hash, err = bcrypt.GenerateFromPassword([]byte(in.Password), cost); err != nil {
				return nil, fmt.Errorf("hash password: %w", err)
			}
			return events, nil
		},
		by.by(), Expect(eventstore.NoStream),
		Row(func(tx pgx.Tx, _ *domain.User) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (id, shop, email, name, role, password_hash, active, created_at, version)
				VALUES ($1, $2, $3, $4, $5, $6, true, $7, 1)`,
				id, e.Shop, e.Email, e.Name, e.Role, string(hash), e.RegisteredAt)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" {
				return fmt.Errorf("%w: %w", ErrEmailTaken, &domain.ValidationError{Fields: []domain.FieldError{{
					Field: "email", Message: "is already registered in this shop",
				}}})
			}
			return err
		}))
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// ChangeUser applies decide's change to a user of the caller's shop and
// updates the user's row with it.
func (a *App) ChangeUser(ctx context.Context, by Caller, id uuid.UUID,
	decide func(*domain.User, time.Time) ([]domain.Event, error)) (Result[*domain.User], error) {
	return Update(ctx, a.store, domain.UserStream(id), ownedBy(by.Shop, domain.NewUserFromHistory),
		func(u *domain.User) ([]domain.Event, error) { return decide(u, a.now()) },
		by.by(), Row(func(tx pgx.Tx, u *domain.User) error {
			_, err := tx.Exec(ctx, `UPDATE users SET role = $2, active = $3, version = $4 WHERE id = $1`,
				u.ID(), u.Role(), u.Active(), u.Version())
			return err
		}))
}

// NewAPIToken is the input of CreateAPIToken: the command, and who creates
// the token (an actor name) on behalf of which user (the owner it derives from).
type NewAPIToken struct {
	domain.CreateAPITokenCommand
	CreatedBy string
	Owner     uuid.UUID
}

// CreateAPIToken appends api_token.created and inserts the token's row.
func (a *App) CreateAPIToken(ctx context.Context, by Caller, in NewAPIToken) (domain.APITokenCreated, error) {
	in.Shop = by.Shop
	var e domain.APITokenCreated
	_, err := Update(ctx, a.store, domain.APITokenStream(in.TokenID),
		func([]domain.Event) (*domain.APIToken, error) { return &domain.APIToken{}, nil },
		func(*domain.APIToken) ([]domain.Event, error) {
			events, err := domain.CreateAPIToken(in.CreateAPITokenCommand)
			if err == nil {
				e = events[0].(domain.APITokenCreated)
			}
			return events, err
		},
		by.by(), Expect(eventstore.NoStream),
		Row(func(tx pgx.Tx, _ *domain.APIToken) error {
			var expires *time.Time
			if !e.ExpiresAt.IsZero() {
				expires = &e.ExpiresAt
			}
			_, err := tx.Exec(ctx, `INSERT INTO api_tokens
				(id, shop, name, role, token_hash, prefix, created_by, owner_id, created_at, expires_at, version)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)`,
				e.TokenID, e.Shop, e.Name, e.Role, e.TokenHash, e.Prefix, in.CreatedBy, in.Owner, e.CreatedAt, expires)
			return err
		}))
	return e, err
}

// RevokeAPIToken applies decide's revocation to a token of the caller's
// shop and marks its row revoked.
func (a *App) RevokeAPIToken(ctx context.Context, by Caller, id uuid.UUID,
	decide func(*domain.APIToken, time.Time) ([]domain.Event, error)) error {
	now := a.now()
	_, err := Update(ctx, a.store, domain.APITokenStream(id), ownedBy(by.Shop, domain.NewAPITokenFromHistory),
		func(t *domain.APIToken) ([]domain.Event, error) { return decide(t, now) },
		by.by(), Row(func(tx pgx.Tx, t *domain.APIToken) error {
			_, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2, version = $3 WHERE id = $1`, t.ID(), now, t.Version())
			return err
		}))
	return err
}

// ownedBy wraps load so that an aggregate of another shop is not found.
func ownedBy[A interface {
	Aggregate
	Shop() string
}](shop string, load func([]domain.Event) (A, error)) func([]domain.Event) (A, error) {
	return func(history []domain.Event) (A, error) {
		agg, err := load(history)
		if err == nil && agg.Shop() != shop {
			err = domain.ErrNotFound
		}
		return agg, err
	}
}
