package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
)

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 1 << 20

// bindJSON decodes the request body into dst strictly: the content type must be
// JSON, the body at most 1 MiB, holding exactly one object with no unknown
// fields and the right types. On failure it answers (415, 413 or 400 naming
// the field) and returns false; the handler just returns.
func bindJSON(c *gin.Context, dst any) bool {
	// Two Content-Type headers are ambiguous, whatever the first one says.
	types := c.Request.Header.Values("Content-Type")
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" || len(types) != 1 {
		abortProblem(c, http.StatusUnsupportedMediaType, "the request body must be application/json")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err == nil {
		err = decodeStrict(body, dst)
	}
	if err == nil {
		return true
	}
	status, detail, fields := decodeProblem(err)
	abortProblem(c, status, detail, fields...)
	return false
}

// decodeStrict decodes exactly one JSON value with no unknown fields.
func decodeStrict(body []byte, dst any) error {
	// encoding/json would store something the client never sent: U+FFFD for
	// invalid UTF-8 and lone surrogates, the last of two equal keys; and
	// PostgreSQL cannot hold U+0000. Malformed JSON is left to the decoder,
	// whose errors name the field and the byte.
	if err := domain.CheckJSON(body); err != nil {
		if bad := (*domain.JSONError)(nil); errors.As(err, &bad) && bad.Problem != domain.JSONSyntax {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	// Exactly one value: anything after it is a client bug worth reporting.
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		if err == nil {
			err = errTrailingData
		}
		return err
	}
	return nil
}

var errTrailingData = errors.New("unexpected data after the JSON value")

func decodeProblem(err error) (int, string, []FieldError) {
	var (
		tooBig    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		badJSON   *domain.JSONError
	)
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", tooBig.Limit), nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return http.StatusBadRequest, "the request body must be a JSON " + typeErr.Type.Kind().String(), nil
		}
		return http.StatusBadRequest, "a field has the wrong type",
			[]FieldError{{Field: field, Message: "must be " + jsonKind(typeErr.Type.Kind().String())}}
	case errors.As(err, &syntaxErr):
		return http.StatusBadRequest, fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset), nil
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, "the request body is empty", nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, "the request body ends early", nil
	case errors.Is(err, errTrailingData):
		return http.StatusBadRequest, err.Error(), nil
	case errors.As(err, &badJSON) && badJSON.Problem == domain.JSONDuplicateKey:
		return http.StatusBadRequest, "the request body has " + badJSON.Error(),
			[]FieldError{{Field: badJSON.Key, Message: "is given twice in one object"}}
	case errors.As(err, &badJSON):
		return http.StatusBadRequest, "the request body has " + badJSON.Error(), nil
	}
	// encoding/json reports unknown fields only as text: json: unknown field "x".
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return http.StatusBadRequest, "the request body has an unknown field",
			[]FieldError{{Field: strings.Trim(name, `"`), Message: "is not a known field"}}
	}
	return http.StatusBadRequest, "the request body is not valid: " + err.Error(), nil
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "a " + kind
}
