package action

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// Config is what every action reads from its environment (COMMON.md's names).
type Config struct {
	APIURL          string   // PEERDOM_API_URL (default peerdomapi.DefaultBaseURL)
	APIKeyParameter string   // PEERDOM_API_KEY_PARAMETER: the SSM SecureString parameter holding the API key
	APIKey          string   // PEERDOM_API_KEY: the key itself, for local use when no parameter is set
	IgnoreAuthors   []string // IGNORE_AUTHORS: comma-separated author emails
	LogLevel        string   // LOG_LEVEL
	EventBusName    string   // EVENT_BUS_NAME (actions that publish)
	EventSource     string   // EVENT_SOURCE (default peerdom.DefaultSource)
}

// LoadConfig reads the Config from getenv (os.Getenv in a Lambda). The key comes from
// the parameter when PEERDOM_API_KEY_PARAMETER is set, else from PEERDOM_API_KEY; one of
// them is required.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		APIURL:          strings.TrimSpace(getenv("PEERDOM_API_URL")),
		APIKeyParameter: strings.TrimSpace(getenv("PEERDOM_API_KEY_PARAMETER")),
		APIKey:          strings.TrimSpace(getenv("PEERDOM_API_KEY")),
		IgnoreAuthors:   ParseList(getenv("IGNORE_AUTHORS")),
		LogLevel:        getenv("LOG_LEVEL"),
		EventBusName:    strings.TrimSpace(getenv("EVENT_BUS_NAME")),
		EventSource:     strings.TrimSpace(getenv("EVENT_SOURCE")),
	}
	if c.APIURL == "" {
		c.APIURL = peerdomapi.DefaultBaseURL
	}
	if c.EventSource == "" {
		c.EventSource = peerdom.DefaultSource
	}
	if c.APIKeyParameter == "" && c.APIKey == "" {
		return c, errors.New("action: set PEERDOM_API_KEY_PARAMETER (the Systems Manager SecureString parameter holding the Peerdom API key) or, for local use, PEERDOM_API_KEY")
	}
	return c, nil
}

// LogValue keeps the key out of logs when a Config is logged.
func (c Config) LogValue() slog.Value {
	key := ""
	if c.APIKey != "" {
		key = "[set]"
	}
	return slog.GroupValue(
		slog.String("apiUrl", c.APIURL), slog.String("apiKeyParameter", c.APIKeyParameter), slog.String("apiKey", key),
		slog.Any("ignoreAuthors", c.IgnoreAuthors), slog.String("eventBusName", c.EventBusName), slog.String("eventSource", c.EventSource))
}

// APIKeyFromSecret reads the API key out of a secret's value: the plain key, or a JSON
// object with an "apiKey" string (the shape of a key/value secret made in the console).
func APIKeyFromSecret(value string) (string, error) {
	v := strings.TrimSpace(value)
	if strings.HasPrefix(v, "{") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(v), &obj); err != nil {
			return "", errors.New("action: the API key secret looks like JSON but does not parse")
		}
		k, _ := obj["apiKey"].(string)
		if strings.TrimSpace(k) == "" {
			return "", errors.New(`action: the API key secret is a JSON object without an "apiKey" string`)
		}
		return strings.TrimSpace(k), nil
	}
	if v == "" {
		return "", errors.New("action: the API key secret is empty")
	}
	return v, nil
}

// ParseList splits a comma-separated setting, dropping blanks.
func ParseList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FieldDefault is a custom field and the value(s) it gets when empty.
type FieldDefault struct {
	Name   string
	Values []string
}

// ParseFieldDefaults reads ROLE_DEFAULTS: a JSON object from custom field name to a
// default value, a string or (for a list field) an array of strings. The result is
// sorted by name, so writes happen in a stable order.
func ParseFieldDefaults(s string) ([]FieldDefault, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New(`action: ROLE_DEFAULTS is empty; want a JSON object such as {"Purpose": "To be defined"}`)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil || raw == nil {
		return nil, fmt.Errorf(`action: ROLE_DEFAULTS must be a JSON object of field name to value, such as {"Purpose": "To be defined"}`)
	}
	var out []FieldDefault
	for name, v := range raw {
		if strings.TrimSpace(name) == "" {
			return nil, errors.New("action: ROLE_DEFAULTS has an empty field name")
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(v, &one) == nil:
			many = []string{one}
		case json.Unmarshal(v, &many) == nil:
		default:
			return nil, fmt.Errorf("action: ROLE_DEFAULTS[%q] must be a string or an array of strings", name)
		}
		var values []string
		for _, x := range many {
			if strings.TrimSpace(x) != "" {
				values = append(values, x)
			}
		}
		if len(values) == 0 {
			return nil, fmt.Errorf("action: ROLE_DEFAULTS[%q] has no value: an empty default would never fill the field", name)
		}
		out = append(out, FieldDefault{Name: strings.TrimSpace(name), Values: values})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
