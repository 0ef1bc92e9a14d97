package waitgroup

import (
	"testing"

	"github.com/sockspec/sockspec/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }
