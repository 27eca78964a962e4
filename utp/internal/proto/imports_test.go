package proto

import (
	"testing"

	"github.com/inet256/go-utp/v2/utp/internal/sansio"
)

// TestImportsSansIO enforces the sans-IO contract (doc.go) on
// this package's sources; the checker's own tests show it can fail.
func TestImportsSansIO(t *testing.T) { sansio.CheckDir(t, 5) }
