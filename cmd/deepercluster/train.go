package main

import (
	"context"
	"errors"
)

// runTrain is not built yet.
func runTrain(ctx context.Context, a *app, args []string) error {
	return errors.New("train: not built yet")
}
