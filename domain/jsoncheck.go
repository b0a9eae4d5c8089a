package domain

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"
)

// JSONProblem is what CheckJSON found wrong with a JSON text.
type JSONProblem int

// The problems CheckJSON reports. The last four are texts encoding/json
// accepts and then changes silently: invalid UTF-8 and lone surrogates
// become U+FFFD, U+0000 cannot be stored by PostgreSQL, and of two equal
// keys encoding/json keeps the last where other parsers keep the first.
const (
	JSONSyntax JSONProblem = iota + 1
	JSONTooDeep
	JSONInvalidUTF8
	JSONLoneSurrogate
	JSONNUL
	JSONDuplicateKey
)

// MaxJSONDepth is how deeply arrays and objects may nest, as in encoding/json.
const MaxJSONDepth = 10000

// JSONError says why CheckJSON refused a text and where. Its message quotes
// nothing of the text, so it can be stored where the text is not.
type JSONError struct {
	Problem JSONProblem
	Offset  int    // the byte where the problem starts
	Key     string // the repeated key (JSONDuplicateKey)
}

var jsonProblems = [...]string{
	JSONSyntax:        "malformed JSON",
	JSONTooDeep:       fmt.Sprintf("arrays and objects nested deeper than %d levels", MaxJSONDepth),
	JSONInvalidUTF8:   "invalid UTF-8",
	JSONLoneSurrogate: `a lone UTF-16 surrogate escape (\ud800 to \udfff without its pair)`,
	JSONNUL:           "an escaped U+0000 (PostgreSQL cannot store it)",
	JSONDuplicateKey:  "an object key given twice",
}

func (e *JSONError) Error() string {
	return fmt.Sprintf("%s at byte %d", jsonProblems[e.Problem], e.Offset)
}

// CheckJSON reports whether data is exactly one JSON value (RFC 8259, with
// whitespace around it) that is stored as sent: valid UTF-8, no lone
// surrogate escape, no U+0000, and no object holding the same key twice, at
// any depth (keys compare after unescaping). It reads data once and
// allocates only for escaped keys.
func CheckJSON(data []byte) error {
	c := jsonCheckers.Get().(*jsonChecker)
	c.data, c.keys, c.stack = data, c.keys[:0], c.stack[:0]
	err := c.check()
	if cap(c.keys) <= maxPooledKeys {
		clear(c.keys[:cap(c.keys)]) // keep no reference to data
		c.data = nil
		jsonCheckers.Put(c)
	}
	return err
}

// jsonCheckers keeps checkers for reuse, as encoding/json keeps its scanners.
var jsonCheckers = sync.Pool{New: func() any { return new(jsonChecker) }}

// maxPooledKeys bounds the key buffer a pooled checker keeps: a checker that
// grew larger for one document is left to the garbage collector.
const maxPooledKeys = 1024

// jsonFrame is an open array or object.
type jsonFrame struct {
	object bool
	keys   int // where the object's keys start in jsonChecker.keys
}

// jsonKey is an object key, unescaped, and where it starts.
type jsonKey struct {
	name []byte
	at   int
}

type jsonChecker struct {
	data  []byte
	keys  []jsonKey // keys of the open objects, innermost last
	stack []jsonFrame
}

func (c *jsonChecker) fail(p JSONProblem, at int) error { return &JSONError{Problem: p, Offset: at} }

// The checker's states: a value is due, a value just ended, a key is due.
const (
	wantValue = iota
	afterValue
	wantKey
)

func (c *jsonChecker) check() error {
	d := c.data
	i := skipJSONSpace(d, 0)
	state := wantValue
	for {
		switch state {
		case wantValue:
			if i >= len(d) {
				return c.fail(JSONSyntax, i)
			}
			switch b := d[i]; {
			case b == '{' || b == '[':
				if len(c.stack) == MaxJSONDepth {
					return c.fail(JSONTooDeep, i)
				}
				c.stack = append(c.stack, jsonFrame{object: b == '{', keys: len(c.keys)})
				i = skipJSONSpace(d, i+1)
				closer := byte(']')
				if b == '{' {
					closer, state = '}', wantKey
				}
				if i < len(d) && d[i] == closer {
					c.stack = c.stack[:len(c.stack)-1] // empty: nothing to compare
					i, state = i+1, afterValue
				}
				continue
			case b == '"':
				end, _, err := c.scanString(i)
				if err != nil {
					return err
				}
				i = end
			case b == 't' || b == 'f' || b == 'n':
				lit := "null"
				if b == 't' {
					lit = "true"
				} else if b == 'f' {
					lit = "false"
				}
				if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
					return c.fail(JSONSyntax, i)
				}
				i += len(lit)
			default:
				end, ok := scanJSONNumber(d, i)
				if !ok {
					return c.fail(JSONSyntax, i)
				}
				i = end
			}
			state = afterValue
		case afterValue:
			i = skipJSONSpace(d, i)
			if len(c.stack) == 0 {
				if i != len(d) {
					return c.fail(JSONSyntax, i)
				}
				return nil
			}
			if i >= len(d) {
				return c.fail(JSONSyntax, i)
			}
			top := &c.stack[len(c.stack)-1]
			switch {
			case d[i] == ',':
				i = skipJSONSpace(d, i+1)
				state = wantValue
				if top.object {
					state = wantKey
				}
			case top.object && d[i] == '}', !top.object && d[i] == ']':
				if err := c.pop(); err != nil {
					return err
				}
				i++
			default:
				return c.fail(JSONSyntax, i)
			}
		case wantKey:
			if i >= len(d) || d[i] != '"' {
				return c.fail(JSONSyntax, i)
			}
			end, escaped, err := c.scanString(i)
			if err != nil {
				return err
			}
			key := d[i+1 : end-1]
			if escaped {
				var s string
				_ = json.Unmarshal(d[i:end], &s) // exact: the string was checked
				key = []byte(s)
			}
			c.keys = append(c.keys, jsonKey{name: key, at: i})
			i = skipJSONSpace(d, end)
			if i >= len(d) || d[i] != ':' {
				return c.fail(JSONSyntax, i)
			}
			i = skipJSONSpace(d, i+1)
			state = wantValue
		}
	}
}

// pop closes the innermost array or object, and refuses an object that
// holds a key twice. Keys are compared at the close, sorted when there are
// many, so that no object costs a map or quadratic time.
func (c *jsonChecker) pop() error {
	top := c.stack[len(c.stack)-1]
	own := c.keys[top.keys:]
	c.keys, c.stack = c.keys[:top.keys], c.stack[:len(c.stack)-1]
	if len(own) <= 8 {
		for i, k := range own {
			for _, l := range own[i+1:] {
				if string(k.name) == string(l.name) {
					return &JSONError{Problem: JSONDuplicateKey, Offset: l.at, Key: string(l.name)}
				}
			}
		}
		return nil
	}
	slices.SortFunc(own, func(a, b jsonKey) int { return cmp.Or(bytes.Compare(a.name, b.name), cmp.Compare(a.at, b.at)) })
	for i := 1; i < len(own); i++ {
		if string(own[i-1].name) == string(own[i].name) {
			return &JSONError{Problem: JSONDuplicateKey, Offset: own[i].at, Key: string(own[i].name)}
		}
	}
	return nil
}

// plainStringByte marks the ASCII bytes a string holds as they are.
var plainStringByte = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// scanString checks the string starting at d[i] == '"' and returns the
// index after its closing quote, and whether it holds an escape.
func (c *jsonChecker) scanString(i int) (end int, escaped bool, err error) {
	d := c.data
	for i++; i < len(d); {
		b := d[i]
		if b < utf8.RuneSelf {
			if plainStringByte[b] {
				i++
				continue
			}
			switch b {
			case '"':
				return i + 1, escaped, nil
			case '\\':
				escaped = true
				if i+1 >= len(d) {
					return 0, false, c.fail(JSONSyntax, i)
				}
				switch d[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					if i, err = c.scanUnicodeEscape(i); err != nil {
						return 0, false, err
					}
				default:
					return 0, false, c.fail(JSONSyntax, i)
				}
			default: // a control character
				return 0, false, c.fail(JSONSyntax, i)
			}
			continue
		}
		r, size := utf8.DecodeRune(d[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, false, c.fail(JSONInvalidUTF8, i)
		}
		i += size
	}
	return 0, false, c.fail(JSONSyntax, i)
}

// scanUnicodeEscape checks the \uXXXX escape at d[i] (and the low surrogate
// a high one needs) and returns the index after it.
func (c *jsonChecker) scanUnicodeEscape(i int) (int, error) {
	d := c.data
	r, ok := hex4(d, i+2)
	switch {
	case !ok:
		return 0, c.fail(JSONSyntax, i)
	case r == 0:
		return 0, c.fail(JSONNUL, i)
	case r >= 0xdc00 && r <= 0xdfff:
		return 0, c.fail(JSONLoneSurrogate, i)
	case r >= 0xd800 && r <= 0xdbff:
		if len(d)-i < 12 || d[i+6] != '\\' || d[i+7] != 'u' {
			return 0, c.fail(JSONLoneSurrogate, i)
		}
		low, ok := hex4(d, i+8)
		if !ok {
			return 0, c.fail(JSONSyntax, i+6)
		}
		if low < 0xdc00 || low > 0xdfff {
			return 0, c.fail(JSONLoneSurrogate, i)
		}
		return i + 12, nil
	}
	return i + 6, nil
}

// hex4 parses the four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if len(d)-i < 4 {
		return 0, false
	}
	var r rune
	for _, b := range d[i : i+4] {
		switch {
		case b >= '0' && b <= '9':
			b -= '0'
		case b >= 'a' && b <= 'f':
			b -= 'a' - 10
		case b >= 'A' && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(b)
	}
	return r, true
}

func skipJSONSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// scanJSONNumber returns the index after the number at d[i].
func scanJSONNumber(d []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		i = digits(i)
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}
