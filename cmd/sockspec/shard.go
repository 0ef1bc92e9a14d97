package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// shardSpec is a --shard K/N: the K-th of N parts of the rules.
type shardSpec struct{ Index, Count int }

func (s shardSpec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// parseShard reads K/N, 1 ≤ K ≤ N.
func parseShard(s string) (shardSpec, error) {
	k, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(k)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 1 || index > count {
		return shardSpec{}, fmt.Errorf("%q is not K/N with 1 ≤ K ≤ N (1/2 is the first of two shards)", s)
	}
	return shardSpec{Index: index, Count: count}, nil
}

// shardRules splits rules (the IDs a run chooses, in the registry's
// order) into n shards of about equal cost and returns them, each in the
// registry's order. A rule goes whole to one shard, so that its outcome,
// the worst of its specs', is judged in one process.
//
// The split is a greedy longest-first: the rules, costliest first (ties
// by ID), each go to the shard whose cost is lowest so far (ties: the
// first). It depends on the rules and ruleCost alone, never on the
// target, the seed or the machine, so that the shards of one command
// line are the same in every job of a CI matrix.
func shardRules(rules []string, n int) [][]string {
	order := append([]string(nil), rules...)
	sort.SliceStable(order, func(i, j int) bool {
		ci, cj := ruleCost(order[i]), ruleCost(order[j])
		if ci != cj {
			return ci > cj
		}
		return order[i] < order[j]
	})
	shardOf := map[string]int{}
	load := make([]int, n)
	for _, id := range order {
		least := 0
		for k := range load {
			if load[k] < load[least] {
				least = k
			}
		}
		shardOf[id] = least
		load[least] += ruleCost(id)
	}
	shards := make([][]string, n)
	for _, id := range rules {
		shards[shardOf[id]] = append(shards[shardOf[id]], id)
	}
	return shards
}

// ruleCost is what a rule's specs cost, in tenths of a second: ruleCosts,
// or defaultRuleCost for a rule it does not list.
func ruleCost(id string) int {
	if c, ok := ruleCosts[id]; ok {
		return c
	}
	return defaultRuleCost
}

// defaultRuleCost is the cost of a rule missing from ruleCosts: about the
// median of those listed.
const defaultRuleCost = 6

// ruleCosts are the seconds, in tenths, that each rule's specs took in a
// run against CPython 3.11 on a two-core machine, or against the
// reference when that took longer (the slowest target of the suite, whose
// specs mostly wait: a deadlock waits for its bound, a spin is measured
// for a while). Only the balance of the shards depends on them, never a
// verdict. To measure them again:
//
//	sockspec run --target cpython:3.11 --procs 1 --report-dir r
//	jq -r '.rules[] | "\(.rule) \(.duration_ns/1e8|ceil)"' r/report.json
var ruleCosts = map[string]int{
	"EIN-04": 19, "ERR-01": 3, "ERR-02": 13, "ERR-03": 14, "ERR-04": 5, "ERR-05": 96, "ERR-06": 2,
	"FRK-01": 8, "FRK-02": 8, "FRK-06": 11, "FRK-07": 7, "FRK-08": 5, "FRK-09": 6, "FRK-10": 6, "FRK-13": 2,
	"HND-01": 4, "HND-02": 2,
	"NET-01": 2, "NET-02": 2, "NET-03": 3, "NET-04": 2, "NET-05": 13, "NET-07": 2, "NET-08": 2, "NET-10": 2,
	"NET-11": 1, "NET-12": 1, "NET-13": 6, "NET-14": 37, "NET-15": 13, "NET-16": 13, "NET-17": 55,
	"ORD-01": 17, "ORD-02": 9, "ORD-03": 11, "ORD-04": 4, "ORD-05": 18, "ORD-06": 16, "ORD-07": 19, "ORD-08": 19,
	"ORD-09": 1, "ORD-10": 3,
	"RES-01": 80,
	"SHD-01": 64, "SHD-02": 85, "SHD-03": 88, "SHD-04": 104, "SHD-05": 126, "SHD-07": 22, "SHD-08": 12,
	"SHD-09": 90, "SHD-10": 11, "SHD-11": 1, "SHD-12": 2, "SHD-13": 62,
	"THR-01": 1, "THR-02": 2, "THR-03": 6, "THR-04": 1, "THR-05": 2, "THR-07": 2,
	"TMO-01": 13, "TMO-02": 2, "TMO-03": 1, "TMO-04": 22, "TMO-05": 6, "TMO-06": 1, "TMO-07": 6, "TMO-08": 3,
}

// ruleFilter is the label filter that chooses exactly the rules ids
// within what filter (a user's label filter, "" for all) chooses.
func ruleFilter(filter string, ids []string) string {
	labels := make([]string, len(ids))
	for i, id := range ids {
		labels[i] = "rule:" + id
	}
	chosen := strings.Join(labels, " || ")
	if filter == "" {
		return chosen
	}
	return "(" + filter + ") && (" + chosen + ")"
}
