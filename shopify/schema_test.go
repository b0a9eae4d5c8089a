package shopify_test

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/ordermill/ordermill/shopify"
)

// introspection is the part of Shopify's published introspection result
// that a schema for validation needs.
type introspection struct {
	Data struct {
		Schema struct {
			QueryType    struct{ Name string }
			MutationType struct{ Name string }
			Types        []struct {
				Kind          string
				Name          string
				Fields        []introField
				InputFields   []introValue
				Interfaces    []typeRef
				PossibleTypes []typeRef
				EnumValues    []struct {
					Name              string
					IsDeprecated      bool
					DeprecationReason *string
				}
				IsOneOf *bool
			}
			Directives []struct {
				Name         string
				IsRepeatable bool
				Locations    []string
				Args         []introValue
			}
		} `json:"__schema"`
	}
}

type introField struct {
	Name              string
	Args              []introValue
	Type              typeRef
	IsDeprecated      bool
	DeprecationReason *string
}

type introValue struct {
	Name              string
	Type              typeRef
	DefaultValue      *string
	IsDeprecated      bool
	DeprecationReason *string
}

type typeRef struct {
	Kind   string
	Name   string
	OfType *typeRef
}

func (t typeRef) String() string {
	switch t.Kind {
	case "NON_NULL":
		return t.OfType.String() + "!"
	case "LIST":
		return "[" + t.OfType.String() + "]"
	}
	return t.Name
}

func deprecated(is bool, reason *string) string {
	if !is {
		return ""
	}
	r := "No longer supported"
	if reason != nil {
		r = *reason
	}
	q, _ := json.Marshal(r) // a JSON string is a valid GraphQL string
	return " @deprecated(reason: " + string(q) + ")"
}

func args(vs []introValue) string {
	if len(vs) == 0 {
		return ""
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.sdl()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (v introValue) sdl() string {
	s := v.Name + ": " + v.Type.String()
	if v.DefaultValue != nil {
		s += " = " + *v.DefaultValue
	}
	return s + deprecated(v.IsDeprecated, v.DeprecationReason)
}

// schemaSDL writes the introspection result as schema language, leaving out
// what gqlparser's prelude already declares.
func schemaSDL(in introspection, builtin *ast.SchemaDocument) string {
	var b strings.Builder
	s := in.Data.Schema
	fmt.Fprintf(&b, "schema { query: %s mutation: %s }\n", s.QueryType.Name, s.MutationType.Name)
	for _, d := range s.Directives {
		if builtin.Directives.ForName(d.Name) != nil {
			continue
		}
		rep := ""
		if d.IsRepeatable {
			rep = " repeatable"
		}
		fmt.Fprintf(&b, "directive @%s%s%s on %s\n", d.Name, args(d.Args), rep, strings.Join(d.Locations, " | "))
	}
	names := func(refs []typeRef, sep string) string {
		ns := make([]string, len(refs))
		for i, r := range refs {
			ns[i] = r.Name
		}
		return strings.Join(ns, sep)
	}
	for _, t := range s.Types {
		if builtin.Definitions.ForName(t.Name) != nil {
			continue
		}
		switch t.Kind {
		case "SCALAR":
			fmt.Fprintf(&b, "scalar %s\n", t.Name)
		case "UNION":
			fmt.Fprintf(&b, "union %s = %s\n", t.Name, names(t.PossibleTypes, " | "))
		case "ENUM":
			fmt.Fprintf(&b, "enum %s {\n", t.Name)
			for _, v := range t.EnumValues {
				fmt.Fprintf(&b, "  %s%s\n", v.Name, deprecated(v.IsDeprecated, v.DeprecationReason))
			}
			b.WriteString("}\n")
		case "INPUT_OBJECT":
			oneOf := ""
			if t.IsOneOf != nil && *t.IsOneOf {
				oneOf = " @oneOf"
			}
			fmt.Fprintf(&b, "input %s%s {\n", t.Name, oneOf)
			for _, f := range t.InputFields {
				fmt.Fprintf(&b, "  %s\n", f.sdl())
			}
			b.WriteString("}\n")
		case "OBJECT", "INTERFACE":
			kw := map[string]string{"OBJECT": "type", "INTERFACE": "interface"}[t.Kind]
			impl := ""
			if len(t.Interfaces) > 0 {
				impl = " implements " + names(t.Interfaces, " & ")
			}
			fmt.Fprintf(&b, "%s %s%s {\n", kw, t.Name, impl)
			for _, f := range t.Fields {
				fmt.Fprintf(&b, "  %s%s: %s%s\n", f.Name, args(f.Args), f.Type, deprecated(f.IsDeprecated, f.DeprecationReason))
			}
			b.WriteString("}\n")
		}
	}
	return b.String()
}

// adminSchema loads the vendored Admin schema of the version the client
// sends by default: moving DefaultAPIVersion on without vendoring its schema
// fails here.
func adminSchema(t *testing.T) *ast.Schema {
	t.Helper()
	f, err := os.Open(path.Join("testdata", "admin_"+shopify.DefaultAPIVersion+".json.gz"))
	if err != nil {
		t.Fatalf("no vendored schema for %s: %v", shopify.DefaultAPIVersion, err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var in introspection
	if err := json.NewDecoder(gz).Decode(&in); err != nil {
		t.Fatalf("decode introspection: %v", err)
	}
	sdl := schemaSDL(in, validator.PreludeDocument())
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "admin_" + shopify.DefaultAPIVersion, Input: sdl})
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	return schema
}

// deprecatedUses lists the deprecated fields a validated selection set asks for.
func deprecatedUses(set ast.SelectionSet) []string {
	var out []string
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if d := s.Definition; d != nil && d.Directives.ForName("deprecated") != nil {
				out = append(out, s.ObjectDefinition.Name+"."+s.Name)
			}
			out = append(out, deprecatedUses(s.SelectionSet)...)
		case *ast.InlineFragment:
			out = append(out, deprecatedUses(s.SelectionSet)...)
		case *ast.FragmentSpread:
			out = append(out, deprecatedUses(s.Definition.SelectionSet)...)
		}
	}
	return out
}

// TestDocumentsValidateAgainstAdminSchema checks every GraphQL document the
// Admin client can send against Shopify's schema: each file holds one named
// operation, named after the file, valid with the fragments it spreads, and
// asking for nothing deprecated.
func TestDocumentsValidateAgainstAdminSchema(t *testing.T) {
	schema := adminSchema(t)
	files, err := fs.Glob(shopify.Documents, "graphql/*.graphql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no documents: %v", err)
	}
	for _, file := range files {
		t.Run(path.Base(file), func(t *testing.T) {
			src, err := shopify.Document(strings.TrimSuffix(path.Base(file), ".graphql"))
			if err != nil {
				t.Fatal(err)
			}
			doc, errs := gqlparser.LoadQueryWithRules(schema, src, nil)
			if len(errs) > 0 {
				t.Fatalf("invalid against the %s Admin schema:\n%v", shopify.DefaultAPIVersion, errs)
			}
			if len(doc.Operations) != 1 {
				t.Fatalf("%d operations, want one per file", len(doc.Operations))
			}
			op := doc.Operations[0]
			want := strings.TrimSuffix(path.Base(file), ".graphql")
			if snake(op.Name) != want {
				t.Errorf("operation %q in %s: name the file %s.graphql", op.Name, file, snake(op.Name))
			}
			if uses := deprecatedUses(op.SelectionSet); len(uses) > 0 {
				t.Errorf("asks for deprecated fields: %v", uses)
			}
		})
	}
}

// The check must be able to fail: a made-up field, a wrong argument type and
// a deprecated field are each caught.
func TestSchemaCheckCatchesMistakes(t *testing.T) {
	schema := adminSchema(t)
	for name, src := range map[string]string{
		"unknown field":  `query A($id: ID!) { order(id: $id) { fulfilmentz { id } } }`,
		"wrong argument": `query A($id: Int!) { order(id: $id) { id } }`,
		"unknown type":   `mutation A($x: NoSuchInput!) { orderCancel(orderId: $x) { job { id } } }`,
	} {
		if _, errs := gqlparser.LoadQueryWithRules(schema, src, nil); len(errs) == 0 {
			t.Errorf("%s: accepted %s", name, src)
		}
	}
	doc, errs := gqlparser.LoadQueryWithRules(schema, `query A($id: ID!) { order(id: $id) { id totalPrice } }`, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if uses := deprecatedUses(doc.Operations[0].SelectionSet); len(uses) != 1 || uses[0] != "Order.totalPrice" {
		t.Errorf("deprecated Order.totalPrice not found: %v", uses)
	}
}

// snake turns an operation name like OrdersUpdatedSince into orders_updated_since.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
