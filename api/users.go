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

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
)

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
	id, err := s.app.RegisterUser(c.Request.Context(), callerOf(c), app.NewUser{
		Email: req.Email, Name: req.Name, Role: req.Role, Password: req.Password, BcryptCost: s.BcryptCost,
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
	s.changeUser(c, id, func(u *domain.User, now time.Time) ([]domain.Event, error) { return u.ChangeRole(req.Role, now) },
		func(c *gin.Context, u userRow) { c.JSON(http.StatusOK, u) })
}

func (s *server) deactivateUser(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	s.changeUser(c, id, (*domain.User).Deactivate,
		func(c *gin.Context, _ userRow) { c.Status(http.StatusNoContent) })
}

// changeUser applies a change to a user of the caller's shop, then ends the
// user's sessions and revokes the API tokens the user no longer backs, so the
// new role or deactivation holds for every credential now.
func (s *server) changeUser(c *gin.Context, id uuid.UUID, decide func(*domain.User, time.Time) ([]domain.Event, error),
	answer func(*gin.Context, userRow)) {
	p := principalFrom(c)
	if p.Kind == KindUser && p.ID == id {
		// An owner locking themselves out could leave the shop without an owner.
		s.problemFromError(c, fmt.Errorf("you cannot change your own role or deactivate yourself: %w", errConflict))
		return
	}
	ctx := c.Request.Context()
	res, err := s.app.ChangeUser(ctx, callerOf(c), id, decide)
	changed, user := len(res.Events) > 0, res.Aggregate
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
