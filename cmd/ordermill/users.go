package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
)

const usersSynopsis = "users add --shop S --email E --name N --role owner|staff|auditor --password P"

// usersCmd registers a user: ordermill users add --shop ... The password may
// also come from ORDERMILL_USER_PASSWORD, which keeps it out of shell history.
func usersCmd(args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errors.New("usage: ordermill " + usersSynopsis)
	}
	fs := newFlagSet("users add", usersSynopsis)
	shop := fs.String("shop", "", "shop domain, e.g. demo.myshopify.com")
	email := fs.String("email", "", "sign-in email (unique within the shop)")
	name := fs.String("name", "", "display name")
	role := fs.String("role", string(domain.RoleStaff), "owner, staff or auditor")
	password := fs.String("password", os.Getenv("ORDERMILL_USER_PASSWORD"), "password: at least 12 characters and at most 72 bytes, not a common password, not containing the email's name")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), cfg.AutoMigrate)
	if err != nil {
		return err
	}
	defer p.Close()
	id, err := app.New(p.Store).RegisterUser(ctx, app.Caller{Shop: *shop, Meta: eventstore.Metadata{Actor: "cli", Source: "cli"}},
		app.NewUser{Email: *email, Name: *name, Role: domain.Role(*role), Password: *password, BcryptCost: cfg.BcryptCost})
	if err != nil {
		return err
	}
	fmt.Println(id)
	return nil
}
