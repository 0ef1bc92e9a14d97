package containers

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// harnessCaps are the inject.* capabilities the harness has over a
// container's process that runs as user ("uid[:gid]"). They are those of
// a process of its own (osfault.Capabilities), less the rlimit faults when
// the harness may not change another user's limits: prlimit on a process
// of another uid needs CAP_SYS_RESOURCE, which a root without it (some
// sandboxes drop it) lacks. The specs that need it are then N/A, not
// ERROR; run the container as the harness's own uid (Options.User) to
// have them.
func harnessCaps(language, user string) []string {
	caps := osfault.Capabilities(language)
	if !canSetLimitsOf(user) {
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == driver.InjectCapability(driver.ViaRlimit) })
	}
	return caps
}

// capSysResource is CAP_SYS_RESOURCE's bit.
const capSysResource = 24

func canSetLimitsOf(user string) bool {
	uidText, _, _ := strings.Cut(user, ":")
	if uid, err := strconv.Atoi(uidText); err == nil && uid == os.Geteuid() {
		return true
	}
	return effectiveCap(capSysResource)
}

func effectiveCap(bit uint) bool {
	caps, err := procfs.EffectiveCaps()
	return err == nil && caps&(1<<bit) != 0
}

// user is the uid:gid the target's containers run as.
func (o Options) user() string {
	if o.User != "" {
		return o.User
	}
	return defaultUser
}
