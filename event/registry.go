package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Registry errors, for errors.Is.
var (
	// ErrDuplicate reports a type name or Go type that is registered already.
	ErrDuplicate = errors.New("event type already registered")
	// ErrTypeName reports a type name that is not lowercase dotted segments
	// with at least one namespace (such as "myapp.progress"), or that claims
	// a namespace of the built-in catalog.
	ErrTypeName = errors.New("invalid event type name")
)

// Definition describes a registered event type: what the catalog command prints and
// docs/events.md lists.
type Definition struct {
	// Type is the event type name.
	Type Type `json:"type"`
	// Description says what the event means.
	Description string `json:"description"`
	// Emitted says when the event is emitted, and by what.
	Emitted string `json:"emitted,omitempty"`
	// Fields lists the payload's JSON fields.
	Fields []Field `json:"fields"`
	// Aliases are the names the seed designs use for the same event, each
	// written "design:name" (for example "geppetto:partial").
	Aliases []string `json:"aliases"`
	// Custom is true for types registered with Register rather than built in.
	Custom bool `json:"custom,omitempty"`

	goType reflect.Type
	decode func(r *reader, raw []byte) (Payload, error)
}

// Field describes one JSON field of a payload.
type Field struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	Description string  `json:"description,omitempty"`
	Fields      []Field `json:"fields,omitempty"`
}

// GoType returns the Go type of the payload.
func (i Definition) GoType() reflect.Type { return i.goType }

type registry struct {
	byName map[Type]*Definition
	byGo   map[reflect.Type]*Definition
}

var (
	regMu sync.Mutex // serializes writers
	// reg is copy-on-write: readers never lock. It is set up before any
	// init function runs, so the catalog's init can register into it.
	reg = func() *atomic.Pointer[registry] {
		p := new(atomic.Pointer[registry])
		p.Store(&registry{byName: map[Type]*Definition{}, byGo: map[reflect.Type]*Definition{}})
		return p
	}()
)

// RegisterOption configures a custom type registration.
type RegisterOption func(*Definition)

// Emitted records when the event is emitted, for the catalog.
func Emitted(when string) RegisterOption { return func(i *Definition) { i.Emitted = when } }

// Aliases records names other systems use for the same event, for the
// catalog; each is written "system:name".
func Aliases(names ...string) RegisterOption {
	return func(i *Definition) { i.Aliases = append(i.Aliases, names...) }
}

// Register binds the custom payload type T to its type name, T's
// EventType(), so that events of that type decode to a T instead of a Raw
// payload. The name must be namespaced ("myapp.progress": lowercase letters,
// digits and underscores in at least two dotted segments) and must not use a
// namespace of the built-in catalog. Registering a name or a Go type twice is
// an error (ErrDuplicate). T is encoded and decoded with encoding/json, so
// its fields follow the usual struct tags. Register is safe for concurrent
// use, though it is usually called from an init function.
func Register[T Payload](description string, opts ...RegisterOption) error {
	var zero T
	name := zero.EventType()
	if err := checkName(name); err != nil {
		return err
	}
	if ns, _, _ := strings.Cut(string(name), "."); builtinNamespaces[ns] {
		return fmt.Errorf("%w: %q uses the built-in namespace %q", ErrTypeName, name, ns)
	}
	info := &Definition{Type: name, Description: description, Custom: true}
	for _, o := range opts {
		o(info)
	}
	return add[T](info, nil)
}

// MustRegister is like Register but panics on error. It is meant for init
// functions and package-level variables.
func MustRegister[T Payload](description string, opts ...RegisterOption) {
	if err := Register[T](description, opts...); err != nil {
		panic(err)
	}
}

// builtinNamespaces are the first segments of the catalog's names; custom
// types may not use them.
var builtinNamespaces = map[string]bool{}

// add registers T with info; fast, if not nil, decodes the payload without
// encoding/json.
func add[T Payload](info *Definition, fast func(r *reader) (Payload, error)) error {
	rt := reflect.TypeFor[T]()
	info.goType = rt
	info.Fields = fieldsOf(rt)
	if info.Aliases == nil {
		info.Aliases = []string{}
	}
	if fast != nil {
		info.decode = func(r *reader, _ []byte) (Payload, error) { return fast(r) }
	} else {
		info.decode = func(_ *reader, raw []byte) (Payload, error) {
			// json.RawMessage fields keep their bytes as they are: give
			// them the compact form of raw payloads (encoding/json would
			// compact them on the way out, but it keeps invalid UTF-8).
			if !compactValid(raw) {
				var err error
				if raw, err = appendCompact(make([]byte, 0, len(raw)), string(raw)); err != nil {
					return nil, err
				}
			}
			var v T
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
	regMu.Lock()
	defer regMu.Unlock()
	old := reg.Load()
	if _, dup := old.byName[info.Type]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicate, info.Type)
	}
	if prev, dup := old.byGo[rt]; dup {
		return fmt.Errorf("%w: Go type %v is bound to %q", ErrDuplicate, rt, prev.Type)
	}
	next := &registry{byName: make(map[Type]*Definition, len(old.byName)+1), byGo: make(map[reflect.Type]*Definition, len(old.byGo)+1)}
	for k, v := range old.byName {
		next.byName[k] = v
	}
	for k, v := range old.byGo {
		next.byGo[k] = v
	}
	next.byName[info.Type] = info
	next.byGo[rt] = info
	reg.Store(next)
	return nil
}

// MaxTypeLen is the longest type name, in bytes.
const MaxTypeLen = 128

// checkName reports whether name is lowercase dotted segments, at least
// two, and at most MaxTypeLen bytes.
func checkName(name Type) error {
	s := string(name)
	if s == "" {
		return fmt.Errorf("%w: empty", ErrTypeName)
	}
	if len(s) > MaxTypeLen {
		return fmt.Errorf("%w: %q… has %d bytes, more than %d", ErrTypeName, s[:32], len(s), MaxTypeLen)
	}
	segs := 0
	for seg := range strings.SplitSeq(s, ".") {
		segs++
		if seg == "" {
			return fmt.Errorf("%w: %q has an empty segment", ErrTypeName, name)
		}
		for _, c := range []byte(seg) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return fmt.Errorf("%w: %q: segments hold only a-z, 0-9 and _", ErrTypeName, name)
			}
		}
	}
	if segs < 2 {
		return fmt.Errorf("%w: %q is not namespaced (want \"app.name\")", ErrTypeName, name)
	}
	return nil
}

// Lookup returns the registration of the named type.
func Lookup(t Type) (Definition, bool) {
	i, ok := reg.Load().byName[t]
	if !ok {
		return Definition{}, false
	}
	return *i, true
}

// Types returns every registered type, built-in and custom, sorted by name.
func Types() []Definition {
	r := reg.Load()
	out := make([]Definition, 0, len(r.byName))
	for _, i := range r.byName {
		out = append(out, *i)
	}
	slices.SortFunc(out, func(a, b Definition) int { return strings.Compare(string(a.Type), string(b.Type)) })
	return out
}

// fieldsOf lists the JSON fields of a struct type, with their docs from the
// `doc` struct tag.
func fieldsOf(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return []Field{}
	}
	out := []Field{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			out = append(out, fieldsOf(sf.Type)...)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f := Field{Name: name, Type: jsonTypeName(sf.Type), Description: sf.Tag.Get("doc")}
		ft := sf.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			f.Fields = fieldsOf(ft)
		}
		out = append(out, f)
	}
	return out
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	durationType   = reflect.TypeFor[time.Duration]()
)

// jsonTypeName names a Go type by its JSON shape.
func jsonTypeName(t reflect.Type) string {
	switch {
	case t == rawMessageType:
		return "json"
	case t == durationType:
		return "duration (integer nanoseconds)"
	case t == reflect.TypeFor[Error]():
		return "error"
	case t == reflect.TypeFor[time.Time]():
		return "time (RFC 3339)"
	case t == reflect.TypeFor[[]byte]():
		return "bytes (base64)"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	case reflect.Slice, reflect.Array:
		return "array of " + jsonTypeName(t.Elem())
	case reflect.Map:
		return "object of " + jsonTypeName(t.Elem())
	case reflect.Struct:
		return "object"
	}
	return "any"
}

// builtin registers a catalog type; a failure is a bug in the catalog.
func builtin[T Payload](description, emitted string, fast func(*reader) (Payload, error), aliases ...string) {
	var zero T
	info := &Definition{Type: zero.EventType(), Description: description, Emitted: emitted, Aliases: aliases}
	if err := add[T](info, fast); err != nil {
		panic(err)
	}
}
