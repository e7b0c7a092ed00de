package main

import (
	"context"
	"errors"
)

// runServe is not built yet.
func runServe(ctx context.Context, a *app, args []string) error {
	return errors.New("serve: not built yet")
}
