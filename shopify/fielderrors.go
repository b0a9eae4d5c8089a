package shopify

import (
	"fmt"

	"github.com/ordermill/ordermill/domain"
)

// fieldErrors collects the problems of a body, each naming its JSON field.
type fieldErrors []domain.FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, domain.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// err is the collected problems as one *domain.ValidationError, or nil.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &domain.ValidationError{Fields: f}
}

func invalid(field, format string, args ...any) error {
	var f fieldErrors
	f.add(field, format, args...)
	return f.err()
}
