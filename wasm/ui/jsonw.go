package ui

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Obj builds one JSON object by hand. The client uses it instead of
// encoding/json, whose reflection would add hundreds of kilobytes to the
// .wasm for the few small objects the page needs (the test state, request
// bodies).
type Obj struct {
	b []byte
}

// NewObj starts an empty object.
func NewObj() *Obj { return &Obj{b: []byte{'{'}} }

func (o *Obj) key(k string) {
	if len(o.b) > 1 {
		o.b = append(o.b, ',')
	}
	o.b = AppendJSONString(o.b, k)
	o.b = append(o.b, ':')
}

// Str adds a string member.
func (o *Obj) Str(k, v string) *Obj {
	o.key(k)
	o.b = AppendJSONString(o.b, v)
	return o
}

// Int adds an integer member.
func (o *Obj) Int(k string, v int64) *Obj {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
	return o
}

// Num adds a number member; NaN and infinities, which JSON cannot hold,
// become null.
func (o *Obj) Num(k string, v float64) *Obj {
	o.key(k)
	o.b = appendNum(o.b, v)
	return o
}

// Bool adds a boolean member.
func (o *Obj) Bool(k string, v bool) *Obj {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
	return o
}

// Ints adds an array of integers.
func (o *Obj) Ints(k string, v []int32) *Obj {
	o.key(k)
	o.b = append(o.b, '[')
	for i, x := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = strconv.AppendInt(o.b, int64(x), 10)
	}
	o.b = append(o.b, ']')
	return o
}

// Strs adds an array of strings.
func (o *Obj) Strs(k string, v []string) *Obj {
	o.key(k)
	o.b = append(o.b, '[')
	for i, x := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendJSONString(o.b, x)
	}
	o.b = append(o.b, ']')
	return o
}

// Nums adds an array of numbers (NaN as null).
func (o *Obj) Nums(k string, v []float64) *Obj {
	o.key(k)
	o.b = append(o.b, '[')
	for i, x := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = appendNum(o.b, x)
	}
	o.b = append(o.b, ']')
	return o
}

// Obj adds a nested object.
func (o *Obj) Obj(k string, v *Obj) *Obj {
	o.key(k)
	o.b = append(o.b, v.Bytes()...)
	return o
}

// Bytes is the finished object.
func (o *Obj) Bytes() []byte {
	out := make([]byte, len(o.b)+1)
	copy(out, o.b)
	out[len(o.b)] = '}'
	return out
}

// String is the finished object as a string.
func (o *Obj) String() string { return string(o.Bytes()) }

func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// AppendJSONString appends s as a JSON string literal; invalid UTF-8 becomes
// U+FFFD so the result always parses.
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hex[r&15])
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
