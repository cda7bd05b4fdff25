package sync_test

import (
	"os"
	"testing"

	"github.com/payhub/payhub/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }
