package htmlreport

import "strings"

// DiffLine is one line of a hook-order diff: Op is ' ' (both), '-' (the
// reference only) or '+' (the target only).
type DiffLine struct {
	Op   byte
	Hook string
	// Depth is how deep the hook is nested in calls ("name{" … "}name")
	// on its side, for indentation.
	Depth int
}

// maxDiffTokens bounds the quadratic diff; longer sequences (a loop that
// ran for long) are cut, and the diff says so.
const maxDiffTokens = 1500

// diffHooks compares two hook sequences (spec.HookSequence's tokens,
// space separated) token by token, by their longest common subsequence.
// cut is true when a sequence was longer than the diff compares.
func diffHooks(reference, target string) (lines []DiffLine, cut bool) {
	a, b := strings.Fields(reference), strings.Fields(target)
	if len(a) > maxDiffTokens {
		a, cut = a[:maxDiffTokens], true
	}
	if len(b) > maxDiffTokens {
		b, cut = b[:maxDiffTokens], true
	}
	// lcs[i][j]: the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			lines = append(lines, DiffLine{Op: ' ', Hook: a[i]})
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			lines = append(lines, DiffLine{Op: '-', Hook: a[i]})
			i++
		default:
			lines = append(lines, DiffLine{Op: '+', Hook: b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		lines = append(lines, DiffLine{Op: '-', Hook: a[i]})
	}
	for ; j < len(b); j++ {
		lines = append(lines, DiffLine{Op: '+', Hook: b[j]})
	}
	indent(lines)
	return lines, cut
}

// indent sets each line's depth: a call that encloses others ("name{")
// opens a level on its side, its return ("}name") closes it.
func indent(lines []DiffLine) {
	depth := map[byte]int{'-': 0, '+': 0} // a common line moves both sides
	for i := range lines {
		l := &lines[i]
		sides := []byte{l.Op}
		if l.Op == ' ' {
			sides = []byte{'-', '+'}
		}
		for _, s := range sides {
			if strings.HasPrefix(l.Hook, "}") && depth[s] > 0 {
				depth[s]--
			}
		}
		l.Depth = depth[sides[0]]
		for _, s := range sides {
			if strings.HasSuffix(strings.SplitN(l.Hook, "*", 2)[0], "{") {
				depth[s]++
			}
		}
	}
}
