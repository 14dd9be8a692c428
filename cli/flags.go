package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// defaultURL is where `make run` puts latch.
const defaultURL = "http://localhost:8080"

// globalFlags are the flags every admin command takes.
type globalFlags struct {
	url, clientID, clientSecret, clientSecretFile string
	profile, caFile, tokenScope, output           string
	insecure                                      bool
}

// command is one run of a subcommand: its flags, what they resolved to, and the output.
type command struct {
	name string
	env  Env
	fs   *flag.FlagSet
	g    globalFlags
	// set lists the flags given on the command line (by name).
	set map[string]bool
}

func newCommand(name string, env Env) *command {
	c := &command{name: name, env: env, fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	c.fs.SetOutput(env.Stderr)
	c.fs.StringVar(&c.g.url, "url", "", "latch's URL (env LATCH_URL)")
	c.fs.StringVar(&c.g.clientID, "client-id", "", "Management API client id (env LATCH_CLIENT_ID)")
	c.fs.StringVar(&c.g.clientSecret, "client-secret", "", "its secret (env LATCH_CLIENT_SECRET)")
	c.fs.StringVar(&c.g.clientSecretFile, "client-secret-file", "", "a file holding the secret (env LATCH_CLIENT_SECRET_FILE)")
	c.fs.StringVar(&c.g.profile, "profile", "", "profile name in profiles.json (env LATCH_PROFILE)")
	c.fs.StringVar(&c.g.caFile, "ca-file", "", "PEM file of a CA to trust (a self-signed latch)")
	c.fs.StringVar(&c.g.tokenScope, "token-scope", "", "space-separated scopes to ask for (default: all the client is granted)")
	c.fs.StringVar(&c.g.output, "output", "text", "text or json")
	c.fs.BoolVar(&c.g.insecure, "insecure-skip-verify", false, "do not verify latch's TLS certificate (development only)")
	return c
}

// parse reads flags and positional arguments in any order ("push DIR --yes" and
// "push --yes DIR"); everything after "--" is positional. want is the number of positional
// arguments, or -1 for any.
func (c *command) parse(args []string, usage string, want int) ([]string, error) {
	c.fs.Usage = func() {
		fmt.Fprintf(c.env.Stderr, "usage: %s\n", usage)
		c.fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &exitError{code: ExitUsage} // flag printed the problem and the usage
		}
		rest := c.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	c.set = map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	if c.g.output != "text" && c.g.output != "json" {
		return nil, usageErrorf("--output %q: want text or json", c.g.output)
	}
	if want >= 0 && len(pos) != want {
		if len(pos) > want {
			return nil, usageErrorf("unexpected arguments: %s\nusage: %s", strings.Join(pos[want:], " "), usage)
		}
		return nil, usageErrorf("missing arguments\nusage: %s", usage)
	}
	return pos, nil
}

func (c *command) json() bool { return c.g.output == "json" }

// stdout is where results go; with --output json only JSON goes there.
func (c *command) stdout() io.Writer { return c.env.Stdout }

// ---------------------------------------------------------------------------------------
// Credentials: flags > environment > profile.

// profile is one entry of profiles.json.
type profile struct {
	URL              string `json:"url"`
	ClientID         string `json:"client_id"`
	ClientSecret     string `json:"client_secret"`
	ClientSecretFile string `json:"client_secret_file"`
	CAFile           string `json:"ca_file"`
	TokenScope       string `json:"token_scope"`
}

// credentials are what a client needs to reach latch and get a token.
type credentials struct {
	url, clientID, clientSecret, caFile, tokenScope string
	insecure                                        bool
}

// profilesPath is $XDG_CONFIG_HOME/latch/profiles.json, or ~/.config/latch/profiles.json.
func profilesPath(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "latch", "profiles.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("no home directory for the profiles file: %w", err)
		}
	}
	return filepath.Join(home, ".config", "latch", "profiles.json"), nil
}

// readProfile reads one profile. The file holds secrets, so it must be readable by its
// owner alone: a group- or world-readable file is refused rather than used.
func readProfile(path, name string) (profile, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return profile{}, usageErrorf("profile %q: there is no profiles file %s", name, path)
		}
		return profile{}, usageErrorf("profiles file: %v", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return profile{}, usageErrorf("profiles file: %v", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return profile{}, usageErrorf("profiles file %s has mode %04o: it holds client secrets, so only its owner may read it (chmod 600 %s)", path, perm, path)
	}
	var all map[string]profile
	dec := json.NewDecoder(io.LimitReader(f, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&all); err != nil {
		return profile{}, usageErrorf("profiles file %s: %v", path, err)
	}
	p, ok := all[name]
	if !ok {
		return profile{}, fmt.Errorf("%w: profiles file %s has no profile %q", errNoSuchProfile, path, name)
	}
	return p, nil
}

// errNoSuchProfile is a profile the file does not have.
var errNoSuchProfile = errors.New("no such profile")

// credentials resolves the connection settings. A profile is read when --profile or
// LATCH_PROFILE names one, or else when something is missing and the file has "default".
func (c *command) credentials() (credentials, error) {
	getenv := c.env.Getenv
	cr := credentials{
		url: c.g.url, clientID: c.g.clientID, clientSecret: c.g.clientSecret,
		caFile: c.g.caFile, tokenScope: c.g.tokenScope, insecure: c.g.insecure,
	}
	// The secret: --client-secret, --client-secret-file, then the environment.
	if c.g.clientSecret != "" && c.g.clientSecretFile != "" {
		return cr, usageErrorf("--client-secret and --client-secret-file are both given; use one")
	}
	if c.g.clientSecretFile != "" {
		s, err := readSecretFile(c.g.clientSecretFile, "--client-secret-file")
		if err != nil {
			return cr, err
		}
		cr.clientSecret = s
	}
	if cr.clientSecret == "" {
		envSecret, envFile := getenv("LATCH_CLIENT_SECRET"), getenv("LATCH_CLIENT_SECRET_FILE")
		switch {
		case envSecret != "" && envFile != "":
			return cr, usageErrorf("LATCH_CLIENT_SECRET and LATCH_CLIENT_SECRET_FILE are both set; use one")
		case envFile != "":
			s, err := readSecretFile(envFile, "LATCH_CLIENT_SECRET_FILE")
			if err != nil {
				return cr, err
			}
			cr.clientSecret = s
		default:
			cr.clientSecret = envSecret
		}
	}
	fill := func(v *string, env string) {
		if *v == "" {
			*v = getenv(env)
		}
	}
	fill(&cr.url, "LATCH_URL")
	fill(&cr.clientID, "LATCH_CLIENT_ID")
	fill(&cr.tokenScope, "LATCH_TOKEN_SCOPE")

	name := c.g.profile
	if name == "" {
		name = getenv("LATCH_PROFILE")
	}
	path, perr := profilesPath(getenv)
	implicit := false
	if name == "" && (cr.url == "" || cr.clientID == "" || cr.clientSecret == "") && perr == nil {
		if _, err := os.Stat(path); err == nil {
			name, implicit = "default", true
		}
	}
	if name != "" {
		if perr != nil {
			return cr, usageErrorf("%v", perr)
		}
		p, err := readProfile(path, name)
		switch {
		case implicit && errors.Is(err, errNoSuchProfile):
			// No default profile: what is missing is reported below.
		case errors.Is(err, errNoSuchProfile):
			return cr, usageErrorf("%v", err)
		case err != nil:
			return cr, err
		}
		if cr.clientSecret == "" {
			if p.ClientSecret != "" && p.ClientSecretFile != "" {
				return cr, usageErrorf("profile %q has both client_secret and client_secret_file; use one", name)
			}
			cr.clientSecret = p.ClientSecret
			if p.ClientSecretFile != "" {
				s, err := readSecretFile(p.ClientSecretFile, "profile "+name+" client_secret_file")
				if err != nil {
					return cr, err
				}
				cr.clientSecret = s
			}
		}
		for _, f := range []struct {
			v    *string
			from string
		}{
			{&cr.url, p.URL}, {&cr.clientID, p.ClientID}, {&cr.caFile, p.CAFile}, {&cr.tokenScope, p.TokenScope},
		} {
			if *f.v == "" {
				*f.v = f.from
			}
		}
	}
	if cr.url == "" {
		cr.url = defaultURL
	}
	var missing []string
	if cr.clientID == "" {
		missing = append(missing, "--client-id (or LATCH_CLIENT_ID)")
	}
	if cr.clientSecret == "" {
		missing = append(missing, "--client-secret (or LATCH_CLIENT_SECRET, LATCH_CLIENT_SECRET_FILE)")
	}
	if len(missing) > 0 {
		return cr, usageErrorf("missing %s, or a --profile that has them", strings.Join(missing, " and "))
	}
	return cr, nil
}

func readSecretFile(path, from string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", usageErrorf("%s: %v", from, err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return "", usageErrorf("%s: %s is empty", from, path)
	}
	return s, nil
}

// client resolves the credentials and builds the Management API client. Nothing is sent
// yet: the token is fetched with the first call.
func (c *command) client() (*client, error) {
	cr, err := c.credentials()
	if err != nil {
		return nil, err
	}
	return newClient(cr, c.env)
}
