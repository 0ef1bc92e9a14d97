package spec

import (
	. "github.com/onsi/ginkgo/v2"
	"go.uber.org/goleak"
)

// Every spec must leave no goroutine of the target behind: the session's
// Close owns everything the server started. The snapshot is taken before
// the spec, and the check runs after every cleanup of the spec.
var _ = BeforeEach(func() {
	before := goleak.IgnoreCurrent()
	DeferCleanup(func() {
		if err := goleak.Find(before); err != nil {
			Fail("the target left goroutines running after the session was closed: " + err.Error())
		}
	})
})
