package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// The source of a rule is a function expression; to parse it with a trailing semicolon or
// comment, and with a name or without, it is parsed as the initializer of a variable. Only
// the function literal is compiled (see compileScript), so the variable never exists.
const rulePrefix = "var __latchRule = "

// An action is a CommonJS module: it runs inside a function that receives its exports.
const (
	actionPrefix = "(function (exports, require, module) {"
	actionSuffix = "\n})"
)

// Action entry points, by trigger.
var actionHandlers = map[string]string{
	TriggerPostLogin:            "onExecutePostLogin",
	TriggerPreUserRegistration:  "onExecutePreUserRegistration",
	TriggerPostUserRegistration: "onExecutePostUserRegistration",
}

// ShapeError is a script that compiles but is not a rule or an action: a rule must be one
// function expression, an action must export at least one handler.
type ShapeError struct {
	Message string
}

func (e *ShapeError) Error() string { return e.Message }

// ModuleError is a script that requires a module latch does not provide (or, for the
// lodash subset, a function of it that latch does not provide).
type ModuleError struct {
	Module string // the base name: "mongodb" for require('mongodb@3.1.4')
	Member string // for lodash: the missing function
	Line   int
	Column int
}

func (e *ModuleError) Error() string {
	if e.Member != "" {
		return fmt.Sprintf("%s.%s is not available (latch provides a subset of %s; see docs/rules.md)", e.Module, e.Member, e.Module)
	}
	return "module " + e.Module + " is not available"
}

// Check validates a script at save time: it must compile (*SyntaxError otherwise, with a
// 1-based position in source), have the shape of its kind (*ShapeError) and require only
// modules latch provides (*ModuleError; only static require('literal') calls are seen, the
// others fail when they run).
func Check(kind, source string) error {
	_, err := compileScript(kind, kind+".js", source, true)
	return err
}

// program is a compiled script. Running prg yields the rule function, or for an action the
// module wrapper function(exports, require, module).
type program struct {
	source string
	prg    *goja.Program
	err    error // a script that does not compile is remembered too
}

// programKey identifies a compiled program in the cache: the script's id and Version (the
// caller's promise that the source did not change; the source is compared on a hit anyway),
// or without a Version a hash of the source.
func programKey(s Script) string {
	if s.Version != "" {
		return s.Kind + "\x00" + s.ID + "\x00" + s.Version
	}
	sum := sha256.Sum256([]byte(s.Source))
	return s.Kind + "\x00#" + hex.EncodeToString(sum[:])
}

func (e *Engine) program(s Script) *program {
	key := programKey(s)
	if p, ok := e.programs.Get(key); ok && p.source == s.Source {
		return p
	}
	name := s.Name
	if name == "" {
		name = s.ID
	}
	// Modules are not checked here: a stored script fails on a missing module only if it
	// reaches the require, as on Auth0.
	prg, err := compileScript(s.Kind, name, s.Source, false)
	p := &program{source: s.Source, prg: prg, err: err}
	e.programs.Put(key, p)
	return p
}

// compileScript parses, checks and compiles one script; checkModules adds the static check
// of require calls.
func compileScript(kind, name, source string, checkModules bool) (*goja.Program, error) {
	var prefix, suffix string
	switch kind {
	case KindRule:
		prefix = rulePrefix
	case KindAction:
		prefix, suffix = actionPrefix, actionSuffix
	default:
		return nil, fmt.Errorf("rules: unknown script kind %q", kind)
	}
	wrapped := prefix + source + suffix
	tree, err := parser.ParseFile(nil, name, wrapped, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, parseError(err, prefix, source)
	}
	var exec *ast.Program
	switch kind {
	case KindRule:
		exec, err = ruleShape(tree)
	case KindAction:
		exec, err = actionShape(tree)
	}
	if err != nil {
		return nil, err
	}
	if checkModules {
		if err := checkRequires(tree, prefix); err != nil {
			return nil, err
		}
	}
	prg, err := compileAST(exec)
	if err != nil {
		return nil, compileError(err, prefix, source)
	}
	return prg, nil
}

// compileAST turns the compiler's panics on internal errors into errors: Check runs on
// admin input and must never take the server down.
func compileAST(p *ast.Program) (prg *goja.Program, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("rules: the compiler failed: %v", x)
		}
	}()
	return goja.CompileAST(p, false)
}

// ruleShape accepts `var __latchRule = <function or arrow function>` followed by nothing but
// empty statements, and returns a program whose completion value is that function.
func ruleShape(tree *ast.Program) (*ast.Program, error) {
	bad := &ShapeError{Message: "a rule must be a single function: function (user, context, callback) {...}"}
	if len(tree.Body) == 0 {
		return nil, bad
	}
	vs, ok := tree.Body[0].(*ast.VariableStatement)
	if !ok || len(vs.List) != 1 || vs.List[0].Initializer == nil {
		return nil, bad
	}
	for _, st := range tree.Body[1:] {
		if _, ok := st.(*ast.EmptyStatement); !ok {
			return nil, bad
		}
	}
	fn := vs.List[0].Initializer
	switch f := fn.(type) {
	case *ast.FunctionLiteral:
		if f.Generator {
			return nil, bad
		}
	case *ast.ArrowFunctionLiteral:
	default:
		return nil, bad
	}
	return &ast.Program{Body: []ast.Statement{&ast.ExpressionStatement{Expression: fn}}, File: tree.File}, nil
}

// actionShape accepts exactly the module wrapper and looks for an assignment of a handler.
func actionShape(tree *ast.Program) (*ast.Program, error) {
	bad := &ShapeError{Message: "an action must be a module: exports.onExecutePostLogin = async (event, api) => {...}"}
	if len(tree.Body) != 1 {
		return nil, bad
	}
	es, ok := tree.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return nil, bad
	}
	fn, ok := es.Expression.(*ast.FunctionLiteral)
	if !ok || fn.ParameterList == nil || len(fn.ParameterList.List) != 3 || fn.ParameterList.Rest != nil {
		return nil, bad
	}
	for i, want := range []string{"exports", "require", "module"} {
		id, ok := fn.ParameterList.List[i].Target.(*ast.Identifier)
		if !ok || string(id.Name) != want {
			return nil, bad
		}
	}
	found := false
	walkAST(fn.Body, func(n ast.Node) {
		if found {
			return
		}
		as, ok := n.(*ast.AssignExpression)
		if !ok {
			return
		}
		if isHandlerTarget(as.Left) {
			found = true
			return
		}
		// module.exports = { onExecutePostLogin: ... }
		if isModuleExports(as.Left) {
			if obj, ok := as.Right.(*ast.ObjectLiteral); ok {
				for _, p := range obj.Value {
					if isHandlerName(propertyName(p)) {
						found = true
					}
				}
			}
		}
	})
	if !found {
		return nil, &ShapeError{Message: "an action must export a handler: exports.onExecutePostLogin, exports.onExecutePreUserRegistration or exports.onExecutePostUserRegistration"}
	}
	return tree, nil
}

func isHandlerName(name string) bool {
	for _, h := range actionHandlers {
		if name == h {
			return true
		}
	}
	return false
}

// isHandlerTarget matches exports.X, exports['X'], module.exports.X, module.exports['X']
// where X is a handler name.
func isHandlerTarget(e ast.Expression) bool {
	var left ast.Expression
	var name string
	switch t := e.(type) {
	case *ast.DotExpression:
		left, name = t.Left, string(t.Identifier.Name)
	case *ast.BracketExpression:
		s, ok := t.Member.(*ast.StringLiteral)
		if !ok {
			return false
		}
		left, name = t.Left, string(s.Value)
	default:
		return false
	}
	if !isHandlerName(name) {
		return false
	}
	if id, ok := left.(*ast.Identifier); ok && id.Name == "exports" {
		return true
	}
	return isModuleExports(left)
}

func isModuleExports(e ast.Expression) bool {
	d, ok := e.(*ast.DotExpression)
	if !ok || d.Identifier.Name != "exports" {
		return false
	}
	id, ok := d.Left.(*ast.Identifier)
	return ok && id.Name == "module"
}

func propertyName(p ast.Property) string {
	switch t := p.(type) {
	case *ast.PropertyKeyed:
		if s, ok := t.Key.(*ast.StringLiteral); ok && !t.Computed {
			return string(s.Value)
		}
	case *ast.PropertyShort:
		return string(t.Name.Name)
	}
	return ""
}

// checkRequires refuses static require('name') calls of modules latch does not provide, and
// uses of members a provided module lacks (through a variable bound to the require, a
// destructuring of it, or directly on the call): latch's modules are subsets.
func checkRequires(tree *ast.Program, prefix string) error {
	bound := map[string]string{} // variable → module
	var first error
	pos := func(idx file.Idx) (int, int) {
		p := tree.File.Position(int(idx) - tree.File.Base())
		line, col := p.Line, p.Column
		if line == 1 {
			col -= len(prefix)
		}
		return line, col
	}
	requireOf := func(e ast.Expression) (string, bool) {
		call, ok := e.(*ast.CallExpression)
		if !ok || len(call.ArgumentList) == 0 {
			return "", false
		}
		if id, ok := call.Callee.(*ast.Identifier); !ok || id.Name != "require" {
			return "", false
		}
		s, ok := call.ArgumentList[0].(*ast.StringLiteral)
		if !ok {
			return "", false
		}
		return moduleBaseName(string(s.Value)), true
	}
	missing := func(module, member string, idx file.Idx) {
		if first == nil && !memberAvailable(module, member) {
			line, col := pos(idx)
			first = &ModuleError{Module: module, Member: member, Line: line, Column: col}
		}
	}
	walkAST(tree, func(n ast.Node) {
		if first != nil {
			return
		}
		switch t := n.(type) {
		case *ast.CallExpression:
			if name, ok := requireOf(t); ok && !moduleAvailable(name) {
				line, col := pos(t.Idx0())
				first = &ModuleError{Module: name, Line: line, Column: col}
			}
		case *ast.Binding:
			module, ok := requireOf(t.Initializer)
			if !ok {
				return
			}
			switch target := t.Target.(type) {
			case *ast.Identifier:
				bound[string(target.Name)] = module
			case *ast.ObjectPattern:
				for _, p := range target.Properties {
					if name := propertyName(p); name != "" {
						missing(module, name, p.Idx0())
					}
				}
			}
		}
	})
	if first != nil {
		return first
	}
	// Member checks only for names bound once in the whole script: a parameter or variable
	// of the same name elsewhere (function (url) {...}) may shadow the module.
	declared := declarationCounts(tree)
	for name := range bound {
		if declared[name] > 1 {
			delete(bound, name)
		}
	}
	walkAST(tree, func(n ast.Node) {
		if first != nil {
			return
		}
		d, ok := n.(*ast.DotExpression)
		if !ok {
			return
		}
		module := ""
		if id, ok := d.Left.(*ast.Identifier); ok {
			module = bound[string(id.Name)]
		} else if name, ok := requireOf(d.Left); ok {
			module = name
		}
		if module != "" {
			missing(module, string(d.Identifier.Name), d.Identifier.Idx)
		}
	})
	return first
}

// declarationCounts counts, by name, the places a script binds or assigns an identifier
// (erring on the side of counting: shorthand properties count too).
func declarationCounts(tree *ast.Program) map[string]int {
	counts := map[string]int{}
	ident := func(e any) {
		if id, ok := e.(*ast.Identifier); ok && id != nil {
			counts[string(id.Name)]++
		}
	}
	walkAST(tree, func(n ast.Node) {
		switch t := n.(type) {
		case *ast.Binding:
			ident(t.Target)
		case *ast.FunctionLiteral:
			if t.Name != nil {
				ident(t.Name)
			}
		case *ast.ClassLiteral:
			if t.Name != nil {
				ident(t.Name)
			}
		case *ast.CatchStatement:
			ident(t.Parameter)
		case *ast.PropertyShort:
			counts[string(t.Name.Name)]++
		case *ast.ArrayPattern:
			for _, e := range t.Elements {
				ident(e)
			}
		case *ast.AssignExpression:
			ident(t.Left)
		}
	})
	return counts
}

// moduleBaseName drops a version: "lodash@4.17.19" → "lodash", "@auth0/x@1.0.0" → "@auth0/x".
func moduleBaseName(name string) string {
	if i := strings.LastIndexByte(name, '@'); i > 0 {
		return name[:i]
	}
	return name
}

var (
	astPkgPath     = reflect.TypeFor[ast.Program]().PkgPath()
	astNodeType    = reflect.TypeFor[ast.Node]()
	declarationsFn = "DeclarationList"
)

// walkAST calls visit for every node under n (goja's ast has no walker). Declaration lists
// repeat nodes found in the body and are skipped.
func walkAST(n any, visit func(ast.Node)) {
	walkValue(reflect.ValueOf(n), visit)
}

func walkValue(v reflect.Value, visit func(ast.Node)) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			walkValue(v.Elem(), visit)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPkgPath {
			return
		}
		if v.Type().Implements(astNodeType) && v.CanInterface() {
			visit(v.Interface().(ast.Node))
		}
		walkValue(v.Elem(), visit)
	case reflect.Struct:
		if v.Type().PkgPath() != astPkgPath {
			return
		}
		t := v.Type()
		for i := range v.NumField() {
			if !t.Field(i).IsExported() || t.Field(i).Name == declarationsFn {
				continue
			}
			walkValue(v.Field(i), visit)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkValue(v.Index(i), visit)
		}
	}
}

// parseError turns the parser's error into a *SyntaxError positioned in source.
func parseError(err error, prefix, source string) error {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return syntaxErrorAt(list[0].Position.Line, list[0].Position.Column, list[0].Message, prefix, source)
	}
	var one *parser.Error
	if errors.As(err, &one) {
		return syntaxErrorAt(one.Position.Line, one.Position.Column, one.Message, prefix, source)
	}
	return &SyntaxError{Line: 1, Column: 1, Message: err.Error()}
}

// compileError does the same for errors the compiler finds after parsing (e.g. a let
// declared twice).
func compileError(err error, prefix, source string) error {
	var se *goja.CompilerSyntaxError
	if errors.As(err, &se) && se.File != nil {
		p := se.File.Position(se.Offset)
		return syntaxErrorAt(p.Line, p.Column, se.Message, prefix, source)
	}
	var re *goja.CompilerReferenceError
	if errors.As(err, &re) && re.File != nil {
		p := re.File.Position(re.Offset)
		return syntaxErrorAt(p.Line, p.Column, re.Message, prefix, source)
	}
	return &SyntaxError{Line: 1, Column: 1, Message: err.Error()}
}

// syntaxErrorAt maps a position in the wrapped source back to source: the prefix shifts the
// first line; a position in the suffix (an unclosed block) is reported at the end.
func syntaxErrorAt(line, col int, msg, prefix, source string) *SyntaxError {
	if line == 1 {
		col -= len(prefix)
		if col < 1 {
			col = 1
		}
	}
	lines := strings.Count(source, "\n") + 1
	if line > lines || line < 1 {
		line = lines
		col = len(source) - strings.LastIndexByte(source, '\n')
	}
	return &SyntaxError{Line: line, Column: col, Message: msg}
}
