package shopify

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Documents holds every GraphQL document the Admin client sends, one
// operation per file named after it in snake case, and under fragments/ the
// fragments they share. A test validates each operation, with its
// fragments, against Shopify's Admin schema of DefaultAPIVersion.
//
//go:embed graphql/*.graphql graphql/fragments/*.graphql
var Documents embed.FS

// Document returns the operation in graphql/<name>.graphql followed by
// every fragment it spreads, as it is sent.
func Document(name string) (string, error) {
	b, err := Documents.ReadFile(path.Join("graphql", name+".graphql"))
	if err != nil {
		return "", fmt.Errorf("shopify: no GraphQL document %s: %w", name, err)
	}
	doc := strings.TrimSpace(string(b))
	frags, err := fs.Glob(Documents, "graphql/fragments/*.graphql")
	if err != nil {
		return "", err
	}
	for _, f := range frags {
		b, err := Documents.ReadFile(f)
		if err != nil {
			return "", err
		}
		if _, rest, ok := strings.Cut(string(b), "fragment "); ok && strings.Contains(doc, "..."+strings.Fields(rest)[0]) {
			doc += "\n" + strings.TrimSpace(string(b))
		}
	}
	return doc, nil
}

// document is Document for the client's own operations. A missing file is
// a build mistake that every test of the calling operation shows at once.
func document(name string) string {
	doc, err := Document(name)
	if err != nil {
		panic(err.Error())
	}
	return doc
}
