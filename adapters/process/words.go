package process

import (
	"errors"
	"strings"
)

// SplitWords splits a command line into words as a POSIX shell does
// before it runs a simple command, and does nothing else: blanks
// separate words; single quotes keep everything up to the next single
// quote; double quotes keep everything up to the next unescaped double
// quote, a backslash in them escaping only $ ` " \ and a newline; a
// backslash outside quotes keeps the next character (and a backslash-
// newline joins lines). There is no expansion: $HOME, *, ~ and `cmd`
// stay as written. An unterminated quote or a trailing backslash is an
// error.
func SplitWords(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool // a word has begun, even an empty one ('')
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("a backslash ends the command: escape it as \\\\ or quote it")
			}
			i++
			if rs[i] != '\n' { // a backslash-newline continues the line
				word.WriteRune(rs[i])
				inWord = true
			}
		case r == '\'':
			end := indexRune(rs, i+1, '\'')
			if end < 0 {
				return nil, errors.New("a single quote is not closed")
			}
			word.WriteString(string(rs[i+1 : end]))
			inWord, i = true, end
		case r == '"':
			i++
			for ; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune("$`\"\\\n", rs[i+1]) {
					i++
					if rs[i] == '\n' {
						continue
					}
				}
				word.WriteRune(rs[i])
			}
			if i == len(rs) {
				return nil, errors.New("a double quote is not closed")
			}
			inWord = true
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// indexRune is the index of r in rs from from on, or -1.
func indexRune(rs []rune, from int, r rune) int {
	for i := from; i < len(rs); i++ {
		if rs[i] == r {
			return i
		}
	}
	return -1
}
