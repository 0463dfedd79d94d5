package client

import (
	"testing"

	"github.com/socketcore/socketcore/internal/leaktest"
)

// The machine starts no goroutines; the check keeps it so.
func TestMain(m *testing.M) { leaktest.Main(m) }
