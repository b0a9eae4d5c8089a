package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckJSON(t *testing.T) {
	many := func(n int, dup bool) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
		}
		if dup {
			b.WriteString(`,"kxxx":2`)
		}
		b.WriteString("}")
		return b.String()
	}
	for _, tc := range []struct {
		name, text string
		problem    JSONProblem // 0: accepted
		offset     int
	}{
		{"object", ` {"a":1,"b":[true,false,null,"x",-0.5e+10,{}],"c":{"a":1}} `, 0, 0},
		{"scalars", `"just a string"`, 0, 0},
		{"number", `-12.5E-3`, 0, 0},
		{"escapes", `{"s":"\" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \uFFFD"}`, 0, 0},
		{"raw UTF-8", `{"name":"Chloé 😀","\u0061":1}`, 0, 0},
		{"the same key in sibling and nested objects", `{"a":{"a":1},"b":[{"a":1},{"a":2}]}`, 0, 0},
		{"keys differing in case", `{"email":1,"Email":2}`, 0, 0},
		{"many distinct keys", many(100, false), 0, 0},

		{"duplicate key", `{"a":1,"a":2}`, JSONDuplicateKey, 7},
		{"duplicate key deep", `{"x":[{"y":{"b":1,"c":2,"b":3}}]}`, JSONDuplicateKey, 24},
		{"duplicate key escaped", `{"a":1,"\u0061":2}`, JSONDuplicateKey, 7},
		{"duplicate key among many", many(40, true), JSONDuplicateKey, len(many(40, false)) - 1 + 1},
		{"lone high surrogate", `{"email":"\ud800"}`, JSONLoneSurrogate, 10},
		{"lone low surrogate", `["\uDC00x"]`, JSONLoneSurrogate, 2},
		{"high surrogate then a letter", `"\ud800\u0041"`, JSONLoneSurrogate, 1},
		{"high surrogate at the end", `"\ud800"`, JSONLoneSurrogate, 1},
		{"two high surrogates", `"\ud800\ud800"`, JSONLoneSurrogate, 1},
		{"surrogate in a key", `{"\udfff":1}`, JSONLoneSurrogate, 2},
		{"escaped NUL", `{"a":"x\u0000"}`, JSONNUL, 7},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", JSONInvalidUTF8, 6},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", JSONInvalidUTF8, 1},
		{"truncated UTF-8", "\"\xc3\"", JSONInvalidUTF8, 1},

		{"empty", ``, JSONSyntax, 0},
		{"two values", `{} {}`, JSONSyntax, 3},
		{"trailing comma", `[1,]`, JSONSyntax, 3},
		{"unquoted key", `{a:1}`, JSONSyntax, 1},
		{"raw control character", "\"a\tb\"", JSONSyntax, 2},
		{"bad escape", `"\x"`, JSONSyntax, 1},
		{"short unicode escape", `"\u12"`, JSONSyntax, 1},
		{"leading zero", `01`, JSONSyntax, 1},
		{"bare minus", `-`, JSONSyntax, 0},
		{"fraction without digits", `1.`, JSONSyntax, 0},
		{"exponent without digits", `1e+`, JSONSyntax, 0},
		{"misspelt literal", `nul`, JSONSyntax, 0},
		{"unterminated string", `"abc`, JSONSyntax, 4},
		{"unclosed object", `{"a":1`, JSONSyntax, 6},
		{"mismatched close", `[1}`, JSONSyntax, 2},
		{"too deep", strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1), JSONTooDeep, MaxJSONDepth},
		{"deepest allowed", strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth), 0, 0},
	} {
		err := CheckJSON([]byte(tc.text))
		if tc.problem == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var je *JSONError
		if !errors.As(err, &je) || je.Problem != tc.problem || je.Offset != tc.offset {
			t.Errorf("%s: %#v, want problem %d at byte %d", tc.name, err, tc.problem, tc.offset)
		}
	}
}

func TestCheckJSONErrorNamesTheKeyOnlyInItsField(t *testing.T) {
	err := CheckJSON([]byte(`{"secret@example.test":1,"secret@example.test":2}`))
	var je *JSONError
	if !errors.As(err, &je) || je.Key != "secret@example.test" {
		t.Fatalf("%#v", err)
	}
	if strings.Contains(err.Error(), "secret") || err.Error() != "an object key given twice at byte 25" {
		t.Errorf("message %q", err)
	}
	if got := CheckJSON([]byte(`"\ud800"`)).Error(); got != `a lone UTF-16 surrogate escape (\ud800 to \udfff without its pair) at byte 1` {
		t.Errorf("message %q", got)
	}
}

// FuzzCheckJSON holds CheckJSON against encoding/json: what it accepts is
// valid JSON and valid UTF-8 whose objects have distinct keys and which
// decodes to the same value again after encoding; what encoding/json
// accepts and it refuses has one of the problems it names, present in the
// text.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `{"a":1,"a":2}`, `"\ud800"`, `"\ud83d\ude00"`, "\"\xff\"",
		`{"a":"\u0000"}`, `[1,]`, `{"\u0061":1,"a":2}`, `-0.0e-0`, `"\u00e9\/"`, `[[[]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := CheckJSON(data)
		std := json.Valid(data)
		if err == nil {
			if !std || !utf8.Valid(data) {
				t.Fatalf("accepted what encoding/json or UTF-8 refuses: %q", data)
			}
			if dup, ok := duplicateKey(data); !ok || dup {
				t.Fatalf("accepted an object with a repeated key: %q", data)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber() // numbers past float64 are valid JSON
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if CheckJSON(again) != nil {
				t.Fatalf("refused the re-encoding of what it accepted: %q -> %q", data, again)
			}
			return
		}
		var je *JSONError
		if !errors.As(err, &je) || je.Offset < 0 || je.Offset > len(data) {
			t.Fatalf("%q: error %#v", data, err)
		}
		switch je.Problem {
		case JSONSyntax:
			if std {
				t.Fatalf("called valid JSON malformed: %q", data)
			}
		case JSONInvalidUTF8:
			if utf8.Valid(data) {
				t.Fatalf("called valid UTF-8 invalid: %q", data)
			}
		case JSONLoneSurrogate, JSONNUL:
			if !bytes.HasPrefix(data[je.Offset:], []byte(`\u`)) {
				t.Fatalf("%v does not point at an escape: %q", err, data)
			}
		case JSONDuplicateKey:
			if dup, ok := duplicateKey(data); std && ok && !dup && !bytes.Contains(data, []byte(`\u`)) {
				t.Fatalf("no repeated key in %q", data)
			}
		case JSONTooDeep:
		default:
			t.Fatalf("unknown problem %v", err)
		}
	})
}

// duplicateKey walks data with encoding/json's tokenizer and reports
// whether some object repeats a key; ok is false when data is not JSON.
func duplicateKey(data []byte) (dup, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false, true
		}
		if err != nil {
			return false, false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if k, isString := tok.(string); isString && top != nil && top.object && top.key {
			if top.keys[k] {
				return true, true
			}
			top.keys[k], top.key = true, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

// BenchmarkCheckJSON measures the check on a Shopify order body, beside
// encoding/json's own validity check (the Shopify adapter's BenchmarkDecodeOrder
// measures the decoding that follows it).
func BenchmarkCheckJSON(b *testing.B) {
	body, err := os.ReadFile("../shopify/testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("CheckJSON", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := CheckJSON(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})

}
