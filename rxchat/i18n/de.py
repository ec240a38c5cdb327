"""German (Deutsch): the same message ids as en.py, formal address ("Sie")."""

TEXT: dict[str, str] = {
    # The shopper's widget
    "widget.title": "Fragen zu diesem Produkt?",
    "widget.greeting": "Hallo! Fragen Sie uns alles zu diesem Produkt – unser Team antwortet Ihnen hier.",
    "widget.away_notice": (
        "Unser Team ist gerade nicht erreichbar, eine Antwort kann also etwas dauern. "
        "Hinterlassen Sie unten Ihre E-Mail-Adresse, dann antworten wir auch dort."
    ),
    "widget.online": "Wir sind online",
    "widget.away": "Gerade nicht erreichbar",
    "widget.open_chat": "Mit uns über dieses Produkt chatten",
    "widget.close_chat": "Chat schließen",
    "widget.unread_replies": "{count} ungelesene Antworten",
    "widget.panel": "Produkt-Chat",
    "widget.conversation": "Unterhaltung",
    "widget.agent_typing": "{name} schreibt",
    "widget.input_placeholder": "Nachricht schreiben…",
    "widget.input_label": "Nachricht",
    "widget.send": "Senden",
    "widget.connection_lost": "Verbindung unterbrochen. Wird wiederhergestellt…",
    "widget.details": "Ihre Angaben und Datenschutz",
    "widget.profile_heading": "Ihre Angaben (freiwillig)",
    "widget.name_placeholder": "Name",
    "widget.name_label": "Ihr Name",
    "widget.email_placeholder": "E-Mail",
    "widget.email_label": "Ihre E-Mail-Adresse",
    "widget.save_profile": "Speichern",
    "widget.profile_saved": "Gespeichert. Wir verwenden diese Angaben für Ihre Chats.",
    "widget.email_note": (
        "Antworten wir, während Sie nicht hier sind, schicken wir Ihnen die Antwort und einen Link zurück zu diesem "
        "Chat per E-Mail."
    ),
    "widget.remove_email": "Meine E-Mail-Adresse entfernen",
    "widget.email_removed": "Ihre E-Mail-Adresse ist entfernt. Wir schreiben Ihnen keine E-Mails zu Ihren Chats.",
    "widget.erase_question": "Diese Unterhaltung endgültig löschen?",
    "widget.erase_confirm": "Löschen",
    "widget.erase_keep": "Behalten",
    "widget.erase": "Unterhaltung löschen",
    "widget.no_chat": "Für dieses Produkt ist kein Chat verfügbar.",
    "widget.store_unreachable": (
        "Ihre Nachricht wurde nicht gesendet: Der Chat erreicht seinen Server gerade nicht. Ihr Text "
        "bleibt erhalten; senden Sie ihn gleich noch einmal."
    ),
    # A message in the widget or the console
    "message.read": "Gelesen",
    "message.sent": "Gesendet",
    "message.sending": "Wird gesendet…",
    "message.not_sent": "Nicht gesendet.",
    "message.retry": "Erneut senden",
    "message.load_earlier": "Frühere Nachrichten laden",
    # Staff sign-in
    "login.title": "Anmeldung für Mitarbeitende",
    "login.intro": "Beantworten Sie die Fragen Ihrer Kundschaft zu Ihren Produkten.",
    "login.email": "E-Mail",
    "login.password": "Passwort",
    "login.submit": "Anmelden",
    # The staff console
    "console.title": "rxchat-Konsole",
    "console.heading": "Unterhaltungen",
    "console.unread": "{count} ungelesen",
    "console.sound": "Ton",
    "console.sound_hint": "Signalton, wenn Kundschaft schreibt",
    "console.theme": "Zwischen hellem und dunklem Design wechseln",
    "console.sign_out": "Abmelden",
    "console.all_products": "Alle Produkte",
    "console.filter_product": "Nach Produkt filtern",
    "console.filter_status": "Nach Status filtern",
    "console.status_open": "Offen",
    "console.status_closed": "Geschlossen",
    "console.status_all": "Alle",
    "console.visitor": "Besucher {tag}",
    "console.own_last_message": "Sie: {message}",
    "console.closed_badge": "geschlossen",
    "console.empty_inbox": "Hier gibt es noch keine Unterhaltungen.",
    "console.show_more": "Mehr anzeigen",
    "console.erased": "Die Kundin oder der Kunde hat diese Unterhaltung gelöscht.",
    "console.emailed": "Die Kundin oder der Kunde war nicht da; die Antworten gingen per E-Mail hinaus.",
    "console.choose": "Wählen Sie eine Unterhaltung aus dem Posteingang.",
    "console.choose_first": "Wählen Sie zuerst eine Unterhaltung im Posteingang.",
    "console.reopen": "Wieder öffnen",
    "console.close": "Unterhaltung schließen",
    "console.shopper_typing": "Kundin oder Kunde schreibt",
    "console.reply_placeholder": "Antworten…",
    "console.reply_label": "Antwort",
    "console.store_unreachable": (
        "Ihre Antwort wurde nicht gesendet: Der Server erreicht seinen Zustandsspeicher (Redis) nicht. "
        "Sie bleibt im Feld; drücken Sie Senden, um es erneut zu versuchen."
    ),
    "console.send": "Senden",
    "console.open_product": "Produktseite öffnen",
    "console.panel_failed": "Dieser Bereich konnte nicht angezeigt werden.",
    "console.load_failed": (
        "Die Konsole kann gerade nicht laden: Der Server erreicht seine Datenbank nicht. Bitte gleich neu laden."
    ),
    "console.reply_failed": (
        "Ihre Antwort wurde nicht gesendet: Der Server erreicht seine Datenbank nicht. Mit Senden erneut versuchen."
    ),
    # Refusals
    "error.refused": "Die Anfrage wurde abgelehnt.",
    "error.invalid_input": "Diese Eingabe ist ungültig.",
    "error.message_empty": "Bitte schreiben Sie eine Nachricht, bevor Sie senden.",
    "error.message_too_long": ("Ihre Nachricht ist {length} Zeichen lang; erlaubt sind {limit}. Bitte kürzen Sie sie."),
    "error.message_not_text": "Eine Nachricht muss Text sein.",
    "error.message_not_unicode": "Eine Nachricht muss gültiger Unicode-Text sein.",
    "error.idempotency_key": "Ein Idempotenzschlüssel hat höchstens {max} druckbare Zeichen.",
    "error.product_not_found": "Dieses Produkt gibt es nicht.",
    "error.session_not_found": "Diese Unterhaltung gibt es nicht oder sie ist abgelaufen.",
    "error.not_signed_in": "Bitte melden Sie sich erneut an.",
    "error.rate_limited": (
        "Sie senden zu schnell. Bitte warten Sie {seconds} Sekunden und versuchen Sie es dann erneut."
    ),
    "error.too_many_sessions": (
        "Aus Ihrem Netzwerk wurden zu viele Unterhaltungen begonnen. "
        "Bitte versuchen Sie es in {minutes} Minuten erneut."
    ),
    "error.too_many_sign_ins": (
        "Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie {seconds} Sekunden und versuchen Sie es dann erneut."
    ),
    "error.too_many_lookups": (
        "Zu viele frühere Unterhaltungen wurden abgefragt. Bitte versuchen Sie es in {minutes} Minuten erneut."
    ),
    "error.email_invalid": "Das ist keine gültige E-Mail-Adresse.",
    "error.name_too_long": "Ein Name hat höchstens {max} druckbare Zeichen.",
    "error.status_invalid": "Eine Unterhaltung ist entweder offen oder geschlossen.",
    "error.invalid_credentials": "Diese E-Mail-Adresse und dieses Passwort gehören zu keinem aktiven Mitarbeiterkonto.",
    "error.agent_exists": "Ein Mitarbeiterkonto mit dieser E-Mail-Adresse gibt es bereits.",
    "error.agent_not_found": "Es gibt kein Mitarbeiterkonto mit dieser E-Mail-Adresse.",
    "error.agent_not_active": "Es gibt kein aktives Mitarbeiterkonto mit dieser E-Mail-Adresse.",
    "error.password_too_short": "Ein Passwort braucht mindestens {min} Zeichen.",
    "error.password_too_long": "Dieses Passwort ist zu lang.",
    "error.display_name": "Ein Anzeigename hat 1 bis {max} Zeichen.",
    # Staff tools: canned replies (/agent/canned) and reports (/agent/reports)
    "error.canned_not_found": "Diese Textvorlage gibt es nicht.",
    "error.canned_title_taken": "Eine Textvorlage mit diesem Titel gibt es bereits.",
    "error.canned_title": "Ein Titel hat 1 bis {max} Zeichen.",
    "error.canned_body": "Der Text einer Textvorlage hat 1 bis {max} Zeichen.",
    "error.report_range": "Ein Bericht umfasst 7, 30 oder 90 Tage.",
    "console.canned_link": "Textvorlagen",
    "console.reports_link": "Berichte",
    "console.canned_button": "Textvorlage einfügen",
    "console.canned_none": "Noch keine Textvorlagen.",
    "console.canned_matches": "Textvorlagen",
    "console.canned_close": "Vorschläge schließen",
    "console.canned_hint": "Tippen Sie / und den Anfang eines Titels für eine Textvorlage.",
    "canned.no_name": "zusammen",
    "canned.title": "Textvorlagen · rxchat",
    "canned.heading": "Textvorlagen",
    "canned.intro": (
        "Gespeicherte Antworten für das ganze Team. Tippen Sie in einer Antwort / und den Anfang eines Titels, "
        "oder nutzen Sie die Schaltfläche neben dem Antwortfeld. {{product}} und {{shopper}} werden aus der "
        "Unterhaltung ausgefüllt."
    ),
    "canned.add_heading": "Neue Textvorlage",
    "canned.edit_heading": "Textvorlage bearbeiten",
    "canned.title_label": "Titel",
    "canned.body_label": "Text",
    "canned.body_placeholder": "Hallo {{shopper}}, {{product}} wird innerhalb von zwei Tagen versandt.",
    "canned.save": "Speichern",
    "canned.cancel": "Abbrechen",
    "canned.edit": "Bearbeiten",
    "canned.delete": "Löschen",
    "canned.empty": "Noch keine Textvorlagen. Legen Sie die Antworten an, die Sie am häufigsten geben.",
    "canned.saved": "„{title}“ gespeichert.",
    "canned.deleted": "„{title}“ gelöscht.",
    "staff.back": "Unterhaltungen",
    "reports.title": "Berichte · rxchat",
    "reports.heading": "Berichte",
    "reports.range": "Zeitraum",
    "reports.days": "Letzte {count} Tage",
    "reports.conversations": "Unterhaltungen pro Tag, nach Produkt",
    "reports.first_response": "Erste Antwortzeit pro Tag (Minuten)",
    "reports.median": "Median",
    "reports.p90": "90. Perzentil",
    "reports.messages": "Nachrichten pro Tag",
    "reports.shopper_messages": "Von Kunden",
    "reports.agent_messages": "Vom Team",
    "reports.products": "Nach Produkt",
    "reports.col_product": "Produkt",
    "reports.col_conversations": "Unterhaltungen",
    "reports.col_messages": "Nachrichten",
    "reports.col_median": "Median erste Antwort",
    "reports.col_within": "In 5 Min. beantwortet",
    "reports.export": "CSV exportieren",
    "reports.other": "Weitere Produkte",
    "reports.no_data": "Keine Unterhaltungen in diesem Zeitraum.",
    "reports.no_reply": "noch keine Antwort",
    "reports.times_utc": (
        "Tage in UTC. Eine Unterhaltung zählt am Tag ihres Beginns; ihre erste Antwort ist die erste Antwort des "
        "Teams nach der ersten Nachricht des Kunden."
    ),
    # Email continuity: the resume and unsubscribe pages, and the reply email (docs/email.md)
    "resume.title": "Ihre Unterhaltung",
    "resume.opening": "Ihre Unterhaltung wird geöffnet…",
    "resume.error": (
        "Dieser Link ist abgelaufen oder wurde schon benutzt. Links in unseren E-Mails gelten einmal und 7 Tage lang. "
        "Sie können uns weiterhin auf der Produktseite fragen."
    ),
    "resume.to_product": "Zum Produkt",
    "unsubscribe.title": "E-Mails zu Ihrem Chat",
    "unsubscribe.question": "Keine E-Mails mehr zu dieser Unterhaltung?",
    "unsubscribe.confirm": "E-Mails abbestellen",
    "unsubscribe.done": "Erledigt. Wir schreiben Ihnen zu dieser Unterhaltung keine E-Mails mehr.",
    "unsubscribe.error": "Dieser Link gilt nicht mehr. Es gibt keine E-Mails abzubestellen.",
    "email.subject": "Ihre Frage zu {product}: wir haben geantwortet",
    "email.intro": "Sie haben uns zu {product} gefragt. Hier ist unsere Antwort:",
    "email.continue": "Unterhaltung fortsetzen",
    "email.link_note": "Der Link gilt einmal, in jedem Browser, 7 Tage lang.",
    "email.product_page": "Zur Produktseite",
    "email.unsubscribe": "Keine E-Mails mehr zu dieser Unterhaltung",
}
