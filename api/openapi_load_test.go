package api

import "testing"

func TestOpenAPIValid(t *testing.T) {
	if _, err := openAPIJSON(); err != nil {
		t.Fatal(err)
	}
}
