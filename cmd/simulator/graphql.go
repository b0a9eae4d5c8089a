package main

import (
	"fmt"
	"sort"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// obj is a GraphQL object value: every field the simulator knows for it.
// Lists are []any; execute keeps only what the selection asks for.
type obj = map[string]any

// rootField is a field of QueryRoot or Mutation the simulator implements. It
// gets the call and returns the field's whole value.
type rootField func(c fieldCall) (any, []gqlError)

// fieldCall is one root field to resolve: the shop asking, the Admin API version
// served, the field's arguments with the variables substituted, and the key
// of its @idempotent directive (empty without one).
type fieldCall struct {
	shop           string
	version        string
	field          string
	args           map[string]any
	idempotencyKey string
}

// operation is one parsed request: the operation to run and its variables.
type operation struct {
	doc  *ast.QueryDocument
	def  *ast.OperationDefinition
	vars map[string]any
}

// parseOperation parses a request's document as Shopify does: a syntax error
// or an operation that cannot be chosen fails the whole request.
func parseOperation(query, name string, vars map[string]any) (*operation, []gqlError) {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil, []gqlError{{Message: err.Error(), Extensions: map[string]string{"code": "PARSE_ERROR"}}}
	}
	var def *ast.OperationDefinition
	switch {
	case name != "":
		def = doc.Operations.ForName(name)
	case len(doc.Operations) == 1:
		def = doc.Operations[0]
	}
	if def == nil {
		return nil, []gqlError{{Message: fmt.Sprintf("An operation name is required and must name one of the document's operations (got %q)", name)}}
	}
	if vars == nil {
		vars = map[string]any{}
	}
	return &operation{doc: doc, def: def, vars: vars}, nil
}

// rootType is the schema type the operation's fields are asked of.
func (op *operation) rootType() string {
	if op.def.Operation == ast.Mutation {
		return "Mutation"
	}
	return "QueryRoot"
}

// fields flattens a selection set: inline fragments and fragment spreads
// add their fields (the simulator answers one concrete type per position).
func (op *operation) fields(set ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			out = append(out, s)
		case *ast.InlineFragment:
			out = append(out, op.fields(s.SelectionSet)...)
		case *ast.FragmentSpread:
			if f := op.doc.Fragments.ForName(s.Name); f != nil {
				out = append(out, op.fields(f.SelectionSet)...)
			}
		}
	}
	return out
}

// args evaluates a field's arguments, variables included.
func (op *operation) args(f *ast.Field) (map[string]any, error) {
	out := map[string]any{}
	for _, a := range f.Arguments {
		v, err := a.Value.Value(op.vars)
		if err != nil {
			return nil, fmt.Errorf("argument %s of %s: %w", a.Name, f.Name, err)
		}
		out[a.Name] = v
	}
	return out, nil
}

// idempotencyKey is the key of a field's @idempotent directive.
func (op *operation) idempotencyKey(f *ast.Field) (string, error) {
	d := f.Directives.ForName("idempotent")
	if d == nil {
		return "", nil
	}
	a := d.Arguments.ForName("key")
	if a == nil {
		return "", fmt.Errorf("directive @idempotent of %s needs its key", f.Name)
	}
	v, err := a.Value.Value(op.vars)
	key, _ := v.(string)
	if err != nil || key == "" {
		return "", fmt.Errorf("directive @idempotent of %s: the key must be a non-empty string", f.Name)
	}
	return key, nil
}

// execute runs the operation's root fields and shapes each value to its
// selection. A field the simulator does not implement fails the request, as
// an unknown field fails validation at Shopify.
func (op *operation) execute(shop, version string, roots map[string]rootField) (obj, []gqlError) {
	var errs []gqlError
	data := obj{}
	for _, f := range op.fields(op.def.SelectionSet) {
		resolve := roots[f.Name]
		if resolve == nil {
			errs = append(errs, gqlError{Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", f.Name, op.rootType()),
				Extensions: map[string]string{"code": "undefinedField"}})
			continue
		}
		args, err := op.args(f)
		if err != nil {
			errs = append(errs, gqlError{Message: err.Error(), Extensions: map[string]string{"code": "argumentLiteralsIncompatible"}})
			continue
		}
		key, err := op.idempotencyKey(f)
		if err != nil {
			errs = append(errs, gqlError{Message: err.Error(), Extensions: map[string]string{"code": "argumentLiteralsIncompatible"}})
			continue
		}
		v, ferrs := resolve(fieldCall{shop: shop, version: version, field: f.Name, args: args, idempotencyKey: key})
		errs = append(errs, ferrs...)
		shaped, serrs := op.shape(v, f.SelectionSet)
		errs = append(errs, serrs...)
		data[f.Alias] = shaped
	}
	return data, errs
}

// shape keeps of v what the selection set asks for, under its aliases.
func (op *operation) shape(v any, set ast.SelectionSet) (any, []gqlError) {
	switch v := v.(type) {
	case obj:
		if v == nil {
			return nil, nil
		}
		var errs []gqlError
		out := obj{}
		for _, f := range op.fields(set) {
			val, ok := v[f.Name]
			if !ok {
				keys := make([]string, 0, len(v))
				for k := range v {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				errs = append(errs, gqlError{Message: fmt.Sprintf("the simulator does not implement field '%s' here (it knows %v)", f.Name, keys)})
				continue
			}
			shaped, ferrs := op.shape(val, f.SelectionSet)
			errs = append(errs, ferrs...)
			out[f.Alias] = shaped
		}
		return out, errs
	case []any:
		var errs []gqlError
		out := make([]any, len(v))
		for i, e := range v {
			var ferrs []gqlError
			out[i], ferrs = op.shape(e, set)
			errs = append(errs, ferrs...)
		}
		return out, errs
	}
	return v, nil
}
