package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// flagSet is a flag.FlagSet whose flags are bound to config fields and
// listed by group in --help, each with its environment variable.
type flagSet struct {
	*flag.FlagSet
	groups []*flagGroup
	shown  map[string]string // flag name → default --help shows, when derived
}

type flagGroup struct {
	title string
	names []string // in --help order
}

func newFlagSet(name string) *flagSet {
	return &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), shown: map[string]string{}}
}

// group starts a --help group: the flags bound after it belong to it.
func (fs *flagSet) group(title string) {
	fs.groups = append(fs.groups, &flagGroup{title: title})
}

// bind defines flag name on *p, with *p's current value as its default: p
// points into a config filled by defaultConfig, so the default is the
// package's DefaultConfig value, never a second literal.
func (fs *flagSet) bind(p any, name, usage string) {
	switch p := p.(type) {
	case *string:
		fs.StringVar(p, name, *p, usage)
	case *bool:
		fs.BoolVar(p, name, *p, usage)
	case *int:
		fs.IntVar(p, name, *p, usage)
	case *int32:
		fs.Var((*int32Value)(p), name, usage)
	case *float64:
		fs.Float64Var(p, name, *p, usage)
	case *time.Duration:
		fs.DurationVar(p, name, *p, usage)
	case flag.Value:
		fs.Var(p, name, usage)
	default:
		panic(fmt.Sprintf("flag --%s: unsupported type %T", name, p))
	}
	if len(fs.groups) == 0 {
		panic(fmt.Sprintf("flag --%s: bound before any group", name))
	}
	g := fs.groups[len(fs.groups)-1]
	g.names = append(g.names, name)
}

// showDefault sets the default --help shows for a flag whose default is
// derived at run time (the host name, another flag's value).
func (fs *flagSet) showDefault(name, text string) { fs.shown[name] = text }

// defaultText is the default --help shows for f; "" = none (an empty
// string).
func (fs *flagSet) defaultText(f *flag.Flag) string {
	if s, ok := fs.shown[f.Name]; ok {
		return s
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, ok := g.Get().(time.Duration); ok {
			if d, err := time.ParseDuration(f.DefValue); err == nil {
				return fmtDuration(d)
			}
		}
	}
	return f.DefValue
}

// fmtDuration is d without trailing zero units: 5m, 1m, 1h, 1m30s, 100ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// setUsage makes --help print head, then every flag by group with its
// default and environment variable, to w; parse errors go to w too.
func (fs *flagSet) setUsage(w io.Writer, head string) {
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprint(w, head)
		for _, g := range fs.groups {
			fmt.Fprintf(w, "\n%s:\n", g.title)
			for _, name := range g.names {
				f := fs.Lookup(name)
				def := ""
				if d := fs.defaultText(f); d != "" {
					def = " (default " + d + ")"
				}
				fmt.Fprintf(w, "  --%s%s\n      %s\n      env %s\n", f.Name, def, f.Usage, envName(f.Name))
			}
		}
	}
}

// envName maps a flag name to its environment variable: http-addr →
// MINIBITLY_HTTP_ADDR.
func envName(flagName string) string {
	return "MINIBITLY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag not given on the command line from its
// environment variable, if set. Command-line flags win.
func applyEnv(fs *flagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// parseInterspersed parses flags that may come before or after positional
// arguments (`keys revoke ID --data-dir X`) and returns the positionals.
func parseInterspersed(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// int32Value is a flag.Value for an int32 field (postgres.Config.MaxConns).
type int32Value int32

func (v *int32Value) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 32)
	if err != nil {
		return err
	}
	*v = int32Value(n)
	return nil
}

func (v *int32Value) String() string { return strconv.Itoa(int(*v)) }
func (v *int32Value) Get() any       { return int32(*v) }

// override is a flag that replaces one value of a profile when it is given,
// on the command line or in the environment; not given, or given as 0, the
// profile's value stays. 0 is accepted because --help showed "default 0s"
// for these flags before they showed the profile's values, so scripts may
// pass it; it is the flag's own documented value, not a zero reinterpreted
// by a package (cluster.Config refuses zeros).
type override[T time.Duration | int] struct {
	v   T
	set bool
}

func (o *override[T]) Set(s string) error {
	switch p := any(&o.v).(type) {
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*p = d
	case *int:
		n, err := strconv.ParseInt(s, 0, strconv.IntSize)
		if err != nil {
			return err
		}
		*p = int(n)
	}
	var zero T
	o.set = o.v != zero
	return nil
}

func (o *override[T]) String() string {
	if o == nil || !o.set {
		return ""
	}
	return fmt.Sprint(o.v)
}

func (o *override[T]) Get() any { return o.v }

// apply replaces *dst by the flag's value when the flag was given.
func (o *override[T]) apply(dst *T) {
	if o.set {
		*dst = o.v
	}
}
