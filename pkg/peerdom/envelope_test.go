package peerdom

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEncodeDeliveryRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, text := range []string{
		"Role was created",
		"**[Role](https://app.peerdom.org/acme/roles/ops?a=1&b=2)** <b>was</b> updated\n\n**Name:** A → B",
		"quotes \" and \\ backslashes, tabs\t and \r\n line ends",
		"noncharacters \uFFFE and \uFFFF, and \u2028 \u2029",
	} {
		d := NewDelivery("req-1", at, text, Sender{Address: "1.2.3.4", UserAgent: "Peerdom <bot>"})
		env, err := EncodeDelivery(d)
		if err != nil {
			t.Fatalf("EncodeDelivery(%q): %v", text, err)
		}
		if strings.ContainsAny(env, "\uFFFE\uFFFF\n") || !utf8.ValidString(env) {
			t.Errorf("envelope %q holds a raw U+FFFE, U+FFFF or newline", env)
		}
		if strings.Contains(env, `\u003c`) || strings.Contains(env, `\u0026`) {
			t.Errorf("envelope %q escapes HTML characters", env)
		}
		back, err := DecodeDelivery([]byte(env))
		if err != nil || !reflect.DeepEqual(back, d) {
			t.Errorf("DecodeDelivery(EncodeDelivery(%+v)) = %+v, %v", d, back, err)
		}
	}
}

func TestEncodeDeliveryEscapesNoncharacters(t *testing.T) {
	d := NewDelivery("req-1", time.Unix(0, 0), "a\uFFFEb\uFFFFc", Sender{})
	env, err := EncodeDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env, `"text":"a\ufffeb\uffffc"`) {
		t.Errorf("envelope %s; want the text as \"a\\ufffeb\\uffffc\"", env)
	}
}
