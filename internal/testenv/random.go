package testenv

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/google/uuid"
)

var (
	uuidType = reflect.TypeFor[uuid.UUID]()
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
	samples  = []string{"", "a", "Ann Lee", `quote " and \ backslash`, "<b>&amp;</b>", "Zoë 東京 🙂", "\u2028", "line\nbreak\t", "12345678901234567890"}
)

// Fill sets v, and every exported field under it, to a random value, for
// tests that compare two encoders or decoders over many values.
func Fill(rng *rand.Rand, v reflect.Value) {
	switch {
	case v.Type() == uuidType:
		v.Set(reflect.ValueOf(uuid.UUID(RandomBytes(rng, 16))))
		return
	case v.Type() == rawType:
		v.SetBytes(fmt.Appendf(nil, `{"n": %d, "s": %q}`, rng.Int64(), samples[rng.IntN(len(samples))]))
		return
	case v.Type() == timeType:
		sec := rng.Int64N(253402300799) // through 9999
		v.Set(reflect.ValueOf(time.Unix(sec, rng.Int64N(1e9)).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(samples[rng.IntN(len(samples))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.Uint64:
		v.SetUint(rng.Uint64() >> rng.IntN(64))
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, rng.Int64N(1e6), -rng.Int64N(1e6), rng.Int64() >> rng.IntN(63), 1<<53 + 1}[rng.IntN(7)])
	case reflect.Float64:
		v.SetFloat(rng.NormFloat64() * 1e3)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(RandomBytes(rng, rng.IntN(64)))
			return
		}
		n := rng.IntN(4) - 1 // -1: nil
		if n < 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			Fill(rng, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range rng.IntN(3) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			Fill(rng, k)
			Fill(rng, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		if rng.IntN(2) == 0 {
			p := reflect.New(v.Type().Elem())
			Fill(rng, p.Elem())
			v.Set(p)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				Fill(rng, v.Field(i))
			}
		}
	default:
		panic(fmt.Sprintf("Fill: no case for %s", v.Type()))
	}
}

// RandomBytes returns n bytes from rng.
func RandomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
