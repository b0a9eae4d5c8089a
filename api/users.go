package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
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

// NewUser is the input of RegisterUser. Password is plain text; only its bcrypt
// hash is stored, in the users table and nowhere else.
type NewUser struct {
	Shop       string
	Email      string
	Name       string
	Role       domain.Role
	Password   string
	BcryptCost int // 0: bcrypt.DefaultCost
	Meta       eventstore.Metadata
}

// RegisterUser checks the user and the password policy, hashes the password
// and appends user.registered, inserting the users row (which alone holds
// the hash) in the same transaction so the user can sign in at once. The
// event is what the email worker turns into a welcome email.
func RegisterUser(ctx context.Context, store *eventstore.Store, in NewUser) (uuid.UUID, error) {
	id := uuid.New()
	events, err := domain.RegisterUser(domain.RegisterUserCommand{
		UserID: id, Shop: in.Shop, Email: in.Email, Name: in.Name, Role: in.Role, Password: in.Password, At: time.Now(),
	})
	if err != nil {
		return uuid.Nil, err
	}
	cost := in.BcryptCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), cost)
	if err != nil {
		return uuid.Nil, fmt.Errorf("hash password: %w", err)
	}
	e := events[0].(domain.UserRegistered)
	_, err = appendInline(ctx, store, domain.UserStream(id), eventstore.NoStream, e.Shop, in.Meta, events,
		func(tx pgx.Tx) error {
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
		})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// appendInline appends events to one stream and changes the write-model rows
// kept beside them, all in one transaction.
func appendInline(ctx context.Context, store *eventstore.Store, stream string, expected eventstore.ExpectedVersion,
	tenant string, meta eventstore.Metadata, events []domain.Event, rows func(pgx.Tx) error) (eventstore.AppendResult, error) {
	encoded, err := eventstore.Encode(tenant, meta, events...)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var res eventstore.AppendResult
	err = store.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if res, err = eventstore.AppendTx(ctx, tx, eventstore.StreamAppend{Stream: stream, Expected: expected, Events: encoded}); err != nil {
			return err
		}
		return rows(tx)
	})
	return res, err
}

// shopAggregate is what updateInline needs of users and API tokens.
type shopAggregate interface {
	Apply(domain.Event)
	Version() int
	Shop() string
}

// updateInline is load–decide–append for an aggregate with an inline row: it
// rebuilds the aggregate from its stream (another shop's answers errNotFound),
// lets decide raise events, applies them and appends them together with the
// row update. A concurrent writer's conflict is retried on fresh history.
func updateInline[A shopAggregate](ctx context.Context, store *eventstore.Store, stream, shop string, meta eventstore.Metadata,
	rebuild func([]domain.Event) (A, error), decide func(A) ([]domain.Event, error), row func(pgx.Tx, A) error) (A, error) {
	var zero A
	for attempt := 1; ; attempt++ {
		history, err := store.ReadStream(ctx, stream, 1)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return zero, errNotFound
		}
		if err != nil {
			return zero, err
		}
		decoded, err := eventstore.Decode(history)
		if err != nil {
			return zero, err
		}
		agg, err := rebuild(decoded)
		if err != nil {
			return zero, err
		}
		if agg.Shop() != shop {
			return zero, errNotFound
		}
		version := agg.Version()
		events, err := decide(agg)
		if err != nil || len(events) == 0 {
			return agg, err
		}
		for _, e := range events {
			agg.Apply(e)
		}
		_, err = appendInline(ctx, store, stream, eventstore.Exact(int64(version)), shop, meta, events,
			func(tx pgx.Tx) error { return row(tx, agg) })
		if errors.Is(err, eventstore.ErrConcurrency) && attempt < 3 {
			continue
		}
		return agg, err
	}
}

// userRow is a users table row.
type userRow struct {
	ID           uuid.UUID   `json:"id"`
	Shop         string      `json:"shop"`
	Email        string      `json:"email"`
	Name         string      `json:"name"`
	Role         domain.Role `json:"role"`
	Active       bool        `json:"active"`
	CreatedAt    time.Time   `json:"created_at"`
	Version      int64       `json:"version"`
	passwordHash string
}

const userColumns = `id, shop, email, name, role, active, created_at, version, password_hash`

func scanUser(row pgx.Row) (userRow, error) {
	var u userRow
	err := row.Scan(&u.ID, &u.Shop, &u.Email, &u.Name, &u.Role, &u.Active, &u.CreatedAt, &u.Version, &u.passwordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, errNotFound
	}
	return u, err
}

// domainUser is the row as the domain's User, which checks passwords.
func (u userRow) domainUser() *domain.User {
	return domain.UserFromRecord(domain.UserRecord{
		ID: u.ID, Shop: u.Shop, Email: u.Email, Name: u.Name, Role: u.Role, Active: u.Active, Version: int(u.Version),
		PasswordHash: u.passwordHash,
	})
}

// Users are read from the primary, never a replica: sign-in must see a user
// the moment it is registered. shop and email are lower-case.
func (s *server) userByEmail(ctx context.Context, shop, email string) (userRow, error) {
	return scanUser(s.Store.Pool().QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE shop = $1 AND email = $2`, shop, email))
}

func (s *server) userByID(ctx context.Context, id uuid.UUID) (userRow, error) {
	return scanUser(s.Store.Pool().QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
}

// pathID parses the :id path parameter; a malformed id cannot name anything, so it is 404.
func pathID(c *gin.Context) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return uuid.Nil, false
	}
	return id, true
}

func (s *server) listUsers(c *gin.Context) {
	rows, err := s.Store.Pool().Query(c.Request.Context(),
		`SELECT `+userColumns+` FROM users WHERE shop = $1 ORDER BY created_at, id`, principalFrom(c).Shop)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (userRow, error) { return scanUser(r) })
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": users})
}

type createUserRequest struct {
	Email    string      `json:"email"`
	Name     string      `json:"name"`
	Role     domain.Role `json:"role"`
	Password string      `json:"password"`
}

func (s *server) createUser(c *gin.Context) {
	var req createUserRequest
	if !bindJSON(c, &req) {
		return
	}
	id, err := RegisterUser(c.Request.Context(), s.Store, NewUser{
		Shop: principalFrom(c).Shop, Email: req.Email, Name: req.Name, Role: req.Role, Password: req.Password,
		BcryptCost: s.BcryptCost, Meta: eventMeta(c),
	})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	u, err := s.userByID(c.Request.Context(), id)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.Header("Location", "/api/v1/users/"+id.String())
	c.JSON(http.StatusCreated, u)
}

type updateUserRequest struct {
	Role domain.Role `json:"role"`
}

func (s *server) updateUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var req updateUserRequest
	if !bindJSON(c, &req) {
		return
	}
	s.changeUser(c, id, func(u *domain.User) ([]domain.Event, error) { return u.ChangeRole(req.Role, time.Now()) },
		func(c *gin.Context, u userRow) { c.JSON(http.StatusOK, u) })
}

func (s *server) deactivateUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	s.changeUser(c, id, func(u *domain.User) ([]domain.Event, error) { return u.Deactivate(time.Now()) },
		func(c *gin.Context, _ userRow) { c.Status(http.StatusNoContent) })
}

// changeUser applies a change to a user of the caller's shop, then ends the
// user's sessions and revokes the API tokens the user no longer backs, so the
// new role or deactivation holds for every credential now.
func (s *server) changeUser(c *gin.Context, id uuid.UUID, decide func(*domain.User) ([]domain.Event, error),
	answer func(*gin.Context, userRow)) {
	p := principalFrom(c)
	if p.Kind == KindUser && p.ID == id {
		// An owner locking themselves out could leave the shop without an owner.
		s.problemFromError(c, fmt.Errorf("you cannot change your own role or deactivate yourself: %w", errConflict))
		return
	}
	ctx := c.Request.Context()
	changed := false
	user, err := updateInline(ctx, s.Store, domain.UserStream(id), p.Shop, eventMeta(c), domain.NewUserFromHistory,
		func(u *domain.User) ([]domain.Event, error) {
			events, err := decide(u)
			changed = len(events) > 0
			return events, err
		},
		func(tx pgx.Tx, u *domain.User) error {
			_, err := tx.Exec(ctx, `UPDATE users SET role = $2, active = $3, version = $4 WHERE id = $1`,
				u.ID(), u.Role(), u.Active(), u.Version())
			return err
		})
	if err == nil && changed {
		err = errors.Join(s.endUserSessions(ctx, id), s.revokeUnbackedTokens(c, user))
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	u, err := s.userByID(ctx, id)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	answer(c, u)
}

// profile describes the caller: a user or an API token, its shop, role and
// what the role allows.
func (s *server) profile(c *gin.Context) {
	p := principalFrom(c)
	body := gin.H{
		"kind": p.Kind, "id": p.ID, "shop": p.Shop, "role": p.Role, "permissions": p.Role.Permissions(),
	}
	if p.Kind == KindUser {
		u, err := s.userByID(c.Request.Context(), p.ID)
		if err != nil {
			s.problemFromError(c, err)
			return
		}
		body["email"], body["name"] = u.Email, u.Name
	}
	c.JSON(http.StatusOK, body)
}
