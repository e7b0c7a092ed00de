package main

import (
	"context"
	"errors"
)

// runInfo is not built yet.
func runInfo(ctx context.Context, a *app, args []string) error {
	return errors.New("info: not built yet")
}
