package main

import (
	"context"
	"errors"
)

// runEval is not built yet.
func runEval(ctx context.Context, a *app, args []string) error {
	return errors.New("eval: not built yet")
}
