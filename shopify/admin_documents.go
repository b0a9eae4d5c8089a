package shopify

import (
	"embed"
	"path"
	"strings"
)

// Documents holds every GraphQL document the Admin client sends, one
// operation per file named after it in snake case. A test validates each
// against Shopify's Admin schema of DefaultAPIVersion.
//
//go:embed graphql/*.graphql
var Documents embed.FS

// document returns the text of graphql/<name>.graphql. A missing file is a
// build mistake that every test of the calling operation shows at once.
func document(name string) string {
	b, err := Documents.ReadFile(path.Join("graphql", name+".graphql"))
	if err != nil {
		panic("shopify: no GraphQL document " + name + ": " + err.Error())
	}
	return strings.TrimSpace(string(b))
}
