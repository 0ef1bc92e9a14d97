package bench

import (
	"testing"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

func TestMain(m *testing.M) {
	// A request child of ref-forking is this test binary run again.
	impl.ChildMain()
	testkit.Main(m)
}
