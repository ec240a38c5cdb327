"""The console's sound cue: a short chime when a shopper writes, in browsers that turned it on.

The shared inbox's `shopper_message_cue` ticks once per refresh that brought
shopper messages. A hidden marker keyed by it remounts on each tick, in every
open console, and its `on_mount` runs the chime in the page (no round trip).
The first value a page sees is where it starts counting, so loading the console
is silent; a reconnect that finds new messages chimes once. The tones come from
Web Audio, so there is no sound file for a host app to ship.

Browsers let a page play sound only after someone has clicked in it, so after
a reload the chime stays silent until the agent's first click (turning the
switch on plays it once, which also unlocks it).
"""

import reflex as rx

from rxchat.i18n import Texts
from rxchat.states.console import AgentConsoleState
from rxchat.states.inbox import InboxState

# One object per page, made on first use: `cue` plays when the count rose since the last call.
SOUND = """(window.rxchatSound ??= {
  last: null,
  audio: null,
  cue(count, on) {
    const rose = this.last !== null && count > this.last;
    this.last = count;
    if (rose && on) this.chime();
  },
  sample(on) {
    if (on) this.chime();
  },
  chime() {
    const Audio = window.AudioContext || window.webkitAudioContext;
    if (!Audio) return;
    const audio = (this.audio ??= new Audio());
    audio.resume().catch(() => {});
    const start = audio.currentTime + 0.01;
    for (const [hz, at] of [[660, 0], [880, 0.14]]) {
      const tone = audio.createOscillator();
      const level = audio.createGain();
      tone.frequency.value = hz;
      level.gain.setValueAtTime(0.0001, start + at);
      level.gain.exponentialRampToValueAtTime(0.2, start + at + 0.02);
      level.gain.exponentialRampToValueAtTime(0.0001, start + at + 0.25);
      tone.connect(level).connect(audio.destination);
      tone.start(start + at);
      tone.stop(start + at + 0.3);
    }
  },
})"""


@rx.memo
def chime_marker(cue: rx.Var[int], on: rx.Var[bool], rest: rx.RestProp) -> rx.Component:
    return rx.box(
        rest,
        on_mount=rx.call_script(SOUND + ".cue(" + cue.to_string() + ", " + on.to_string() + ")"),
        display="none",
    )


def new_message_chime() -> rx.Component:
    """Rendered once the page has joined the inbox (hydrated), so its first cue is the baseline."""
    cue = InboxState.shopper_message_cue
    return rx.cond(
        rx.State.is_hydrated,
        chime_marker(cue=cue, on=AgentConsoleState.sound == "on", key=cue),
    )


def sound_switch(t: Texts) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.icon("bell-ring", size=16),
            rx.text(t("console.sound"), size="2"),
            rx.switch(
                checked=AgentConsoleState.sound == "on",
                # Turning it on plays the chime once, in the click, which lets the page play sound.
                on_change=lambda on: [
                    AgentConsoleState.set_sound(on),
                    rx.call_script(SOUND + ".sample(" + on.to_string() + ")"),
                ],
                data_testid="agent-sound-toggle",
                aria_label=t("console.sound_hint"),
            ),
            align="center",
            spacing="1",
        ),
        title=t("console.sound_hint"),
    )
