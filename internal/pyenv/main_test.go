package pyenv_test

import (
	"testing"

	"github.com/sockspec/sockspec/internal/testkit"
)

// An external test package: testkit imports pyenv.
func TestMain(m *testing.M) { testkit.Main(m) }
