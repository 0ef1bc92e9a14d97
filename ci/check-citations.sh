#!/usr/bin/env bash
# Every citation of the rules' reference must resolve inside the repository.
# Fails with one line per problem when a file tracked by git
#   (a) cites a rule-like ID (ORD-03, SHD-13…) that has no "### ID" heading in
#       docs/SEMANTICS.md;
#   (b) cites an edge case ("edge case E11", "SEMANTICS E11",
#       "SEMANTICS.md#E11") that has no "### E11" heading there;
#   (c) links an anchor of docs/SEMANTICS.md (SEMANTICS.md#x, or #x inside the
#       document) that the document does not define;
#   (d) refers to a copy of the catalogue outside the repository;
#   (e) cites DESIGN by section number, names SEMANTICS.md or DESIGN.md
#       without their docs/ directory, or (once docs/DESIGN.md exists) cites
#       a section of it that has no heading;
# and when (f) a rule of the registry (spec/rules/rules.golden.json, which
# a test of spec/rules keeps equal to the registry) has no entry.
# Prints "check-citations: ok" when there is nothing to report.
set -euo pipefail
cd "$(dirname "$0")/.."

doc=docs/SEMANTICS.md
design=docs/DESIGN.md
golden=spec/rules/rules.golden.json
# This script names the forms it looks for; it is no citation itself.
self=ci/check-citations.sh
# The areas of spec/rules (Areas and the ID pattern of its tests).
id_re='(ORD|TMO|SHD|ERR|FRK|THR|NET|HND|EIN|RES|EDG)-[0-9]{2}'
# FILE:ID pairs that are no citation: a test looks up an ID that must not exist.
not_citations=" spec/rules/registry_test.go:ORD-99 "

if [ ! -f "$doc" ]; then
  echo "check-citations: $doc is missing"
  exit 1
fi

problems=0
problem() {
  echo "check-citations: $*"
  problems=$((problems + 1))
}

# The entries: "### ID — title" headings. The anchors: explicit <a id>s and
# the slugs GitHub gives headings.
declare -A entry anchor
while read -r h; do entry[$h]=1; done < <(sed -nE 's/^### ([A-Za-z0-9-]+)( .*)?$/\1/p' "$doc")
while read -r a; do anchor[$a]=1; done < <(
  grep -oE '<a id="[^"]+"' "$doc" | sed -E 's/^<a id="//; s/"$//'
  sed -nE 's/^#+ (.*)$/\1/p' "$doc" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
)
has_entry() { [ -n "${entry[$1]:-}" ]; }
has_anchor() { [ -n "${anchor[$1]:-}" ]; }

# (a) rule-like IDs.
while IFS=: read -r file line id; do
  [[ $not_citations == *" $file:$id "* ]] && continue
  has_entry "$id" || problem "$file:$line: cites $id, which has no entry in $doc"
done < <(git grep -nowIE "$id_re" -- ":!$doc" ":!$self" || true)

# (b) edge cases.
while IFS=: read -r file line match; do
  e=E${match##*E}
  has_entry "$e" || problem "$file:$line: cites edge case $e, which has no entry in $doc"
done < <(git grep -noIE '(edge cases? |SEMANTICS |SEMANTICS\.md#)E[0-9]+' -- ":!$doc" ":!$self" || true)

# (c) anchors.
while IFS=: read -r file line match; do
  a=${match#*#}
  has_anchor "$a" || problem "$file:$line: links $doc#$a, which the document does not define"
done < <(git grep -noIE 'SEMANTICS\.md#[A-Za-z0-9_-]+' -- ":!$doc" ":!$self" || true)
while IFS=: read -r line match; do
  a=${match#'](#'}
  a=${a%)}
  has_anchor "$a" || problem "$doc:$line: links #$a, which the document does not define"
done < <(grep -noE '\]\(#[A-Za-z0-9_-]+\)' "$doc" || true)

# (d) a catalogue kept outside the repository. The patterns are written so
# that this script does not match itself.
while IFS=: read -r file line _; do
  problem "$file:$line: refers to a file outside the repository; cite $doc"
done < <(git grep -nE '\.\./shared|shared/SEMANTIC[S]' || true)

# (e) the form of SEMANTICS.md and DESIGN.md citations.
while IFS=: read -r file line _; do
  problem "$file:$line: cites DESIGN by section number; cite $design, \"Section name\""
done < <(git grep -nIE 'DESIGN(\.md)? ?§' -- ":!$self" || true)
while IFS=: read -r file line _; do
  [[ $file == docs/* ]] && continue
  problem "$file:$line: write docs/SEMANTICS.md or docs/DESIGN.md, with the directory"
done < <(git grep -nIE '(^|[^/A-Za-z])(SEMANTICS|DESIGN)\.md' -- ":!$self" || true)
if [ -f "$design" ]; then
  while IFS=: read -r file line match; do
    section=$(sed -E 's/^[^"]*\\?"//; s/\\?"$//' <<<"$match")
    grep -qxE "#+ +$(sed 's/[][\.*^$/]/\\&/g' <<<"$section")" "$design" ||
      problem "$file:$line: cites $design, \"$section\", which has no such heading"
  done < <(git grep -noIE 'docs/DESIGN\.md, \\?"[^"\\]+\\?"' -- ":!$self" || true)
fi

# (f) every rule of the registry has an entry.
rules=$(grep -oE '"id": "[A-Z]+-[0-9]{2}"' "$golden" | sed -E 's/.*"([A-Z]+-[0-9]{2})"$/\1/')
if [ -z "$rules" ]; then
  problem "$golden: no rule IDs found"
fi
for id in $rules; do
  has_entry "$id" || problem "$doc: rule $id of the registry has no entry"
done

if [ "$problems" -gt 0 ]; then
  exit 1
fi
echo "check-citations: ok"
