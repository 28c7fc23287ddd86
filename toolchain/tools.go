//go:build tools

// Package tools pins the Pulumi engine so `go build` can compile it from this module.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
