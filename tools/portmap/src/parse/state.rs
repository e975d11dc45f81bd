//! TCP states as listings print them, in any language, normalized to the Linux spelling.

/// A state word folded for lookup: uppercase, accents removed, `-`, `_`, spaces and
/// apostrophes dropped ("FIN_WARTEN_2" → "FINWARTEN2", "ÉCOUTE" → "ECOUTE"). A character that is
/// neither ASCII nor a known accented letter (a misdecoded byte) becomes `?`.
fn fold_state(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '-' | '_' | ' ' | '\'' | '’' | '.') {
            continue;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
            continue;
        }
        let base = match c.to_uppercase().next().unwrap_or(c) {
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ą' => "A",
            'Ç' | 'Ć' | 'Č' => "C",
            'Ď' => "D",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ę' | 'Ě' => "E",
            'Ğ' => "G",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'İ' => "I",
            'Ł' => "L",
            'Ñ' | 'Ń' | 'Ň' => "N",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ő' | 'Ø' => "O",
            'Ř' => "R",
            'Ś' | 'Š' | 'Ş' => "S",
            'Ť' => "T",
            'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ů' | 'Ű' => "U",
            'Ý' => "Y",
            'Ź' | 'Ż' | 'Ž' => "Z",
            'ß' | 'ẞ' => "SS",
            _ => "?",
        };
        out.push_str(base);
    }
    out
}

/// The state words Windows `netstat` prints, in English and translated (German, Spanish,
/// French, Italian, Portuguese, Polish, Czech, Swedish, Dutch, Turkish …; Japanese, Chinese,
/// Korean and Russian Windows print them in English), `ss`, `lsof` and PowerShell spellings,
/// all folded (see [`fold_state`]) → the Linux spelling.
const STATES: &[(&str, &[&str])] = &[
    (
        "LISTEN",
        &[
            "LISTEN",
            "LISTENING",
            "ABHOREN",
            "ABHOEREN",
            "ESCUCHANDO",
            "ESCUCHA",
            "ECOUTE",
            "ENECOUTE",
            "ALECOUTE",
            "INASCOLTO",
            "ASCOLTO",
            "ESCUTANDO",
            "AESCUTAR",
            "NASLUCHIWANIE",
            "NASLOUCHANI",
            "LYSSNAR",
            "LUISTEREN",
            "LYTTER",
            "KUUNTELEE",
            "DINLIYOR",
            "DINLENIYOR",
            "FIGYELES",
            "ASCULTARE",
        ],
    ),
    (
        "ESTABLISHED",
        &[
            "ESTAB",
            "ESTABLISHED",
            "HERGESTELLT",
            "ESTABLECIDO",
            "ESTABLECIDA",
            "ETABLI",
            "ETABLIE",
            "STABILITO",
            "STABILITA",
            "ESTABELECIDO",
            "ESTABELECIDA",
            "USTANOWIONO",
            "USTANOWIONE",
            "NAVAZANO",
            "UPPRATTAD",
            "TOTSTANDGEKOMEN",
            "ETABLERET",
            "KURULDU",
            "LETREJOTT",
            "STABILITA",
        ],
    ),
    (
        "TIME_WAIT",
        &[
            "TIMEWAIT",
            "WARTEND",
            "ATTENTETEMPOREL",
            "TEMPSATTENTE",
            "ESPERATIEMPO",
            "CZASOCZEKIWANIA",
        ],
    ),
    (
        "CLOSE_WAIT",
        &[
            "CLOSEWAIT",
            "SCHLIESSENWARTEN",
            "SCHLIEENWARTEN",
            "ATTENTEFERMEE",
            "ATTENTEFERMETURE",
            "ESPERACIERRE",
            "CIERREESPERA",
            "ATTESACHIUSURA",
            "ESPERAFECHAR",
            "ZAMKNIJCZEKAJ",
        ],
    ),
    (
        "SYN_SENT",
        &[
            "SYNSENT",
            "SYNGESENDET",
            "SYNENVIADO",
            "SYNENVOYE",
            "SYNINVIATO",
            "SYNWYSLANY",
            "SYNWYSLANO",
        ],
    ),
    (
        "SYN_RECV",
        &[
            "SYNRECV",
            "SYNRECEIVED",
            "SYNEMPFANGEN",
            "SYNRECIBIDO",
            "SYNRECU",
            "SYNRICEVUTO",
            "SYNRECEBIDO",
            "SYNODEBRANY",
            "SYNODEBRANO",
        ],
    ),
    (
        "FIN_WAIT1",
        &[
            "FINWAIT1",
            "FINWARTEN1",
            "FINESPERA1",
            "FINATTENTE1",
            "ATTENTEFIN1",
            "FINATTESA1",
            "FINCZEKANIE1",
        ],
    ),
    (
        "FIN_WAIT2",
        &[
            "FINWAIT2",
            "FINWARTEN2",
            "FINESPERA2",
            "FINATTENTE2",
            "ATTENTEFIN2",
            "FINATTESA2",
            "FINCZEKANIE2",
        ],
    ),
    (
        "LAST_ACK",
        &[
            "LASTACK",
            "LETZTESACK",
            "ULTIMOACK",
            "DERNIERACK",
            "OSTATNIACK",
        ],
    ),
    (
        "CLOSING",
        &[
            "CLOSING",
            "SCHLIESSEND",
            "SCHLIEEND",
            "CERRANDO",
            "FERMETURE",
            "ENCOURSDEFERMETURE",
            "INCHIUSURA",
            "CHIUSURA",
            "FECHANDO",
            "ZAMYKANIE",
        ],
    ),
    (
        "CLOSED",
        &[
            "CLOSED",
            "CLOSE",
            "DELETETCB",
            "GESCHLOSSEN",
            "CERRADO",
            "FERME",
            "FERMEE",
            "CHIUSO",
            "CHIUSA",
            "FECHADO",
            "FECHADA",
            "ZAMKNIETE",
            "ZAMKNIETY",
        ],
    ),
    (
        "BOUND",
        &[
            "BOUND",
            "GEBUNDEN",
            "ENLAZADO",
            "VINCULADO",
            "LIE",
            "ASSOCIE",
            "ASSOCIATO",
            "POWIAZANY",
        ],
    ),
    ("UNCONN", &["UNCONN"]),
];

/// Normalizes a state word from any listing to the Linux spelling: LISTEN, ESTABLISHED,
/// TIME_WAIT, CLOSE_WAIT, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING, CLOSED,
/// BOUND, UNCONN. A misdecoded letter (`?` after folding) matches any one letter.
pub fn normalize_state(s: &str) -> Option<String> {
    let f = fold_state(s);
    let exact = STATES
        .iter()
        .find(|(_, words)| words.contains(&f.as_str()))
        .map(|(st, _)| *st);
    let st = exact.or_else(|| {
        if !f.contains('?') {
            return None;
        }
        let fits = |w: &str| {
            w.len() == f.len() && w.chars().zip(f.chars()).all(|(a, b)| b == '?' || a == b)
        };
        STATES
            .iter()
            .find(|(_, words)| words.iter().any(|w| fits(w)))
            .map(|(st, _)| *st)
    })?;
    Some(st.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_normalize() {
        assert_eq!(normalize_state("LISTENING").unwrap(), "LISTEN");
        assert_eq!(normalize_state("ESTAB").unwrap(), "ESTABLISHED");
        assert_eq!(normalize_state("TIME-WAIT").unwrap(), "TIME_WAIT");
        assert_eq!(normalize_state("FIN_WAIT_1").unwrap(), "FIN_WAIT1");
        assert_eq!(normalize_state("SynReceived").unwrap(), "SYN_RECV");
        assert_eq!(normalize_state("Listen").unwrap(), "LISTEN");
        assert!(normalize_state("bogus").is_none());
        assert_eq!(normalize_state("ABHÖREN").unwrap(), "LISTEN");
        assert_eq!(normalize_state("ABH\u{99}REN").unwrap(), "LISTEN");
        assert_eq!(normalize_state("HERGESTELLT").unwrap(), "ESTABLISHED");
        assert_eq!(normalize_state("ESCUCHANDO").unwrap(), "LISTEN");
    }

    #[test]
    fn localized_states() {
        for (w, st) in [
            ("FIN_WARTEN_2", "FIN_WAIT2"),
            ("FIN_WARTEN_1", "FIN_WAIT1"),
            ("SYN_GESENDET", "SYN_SENT"),
            ("SYN_EMPFANGEN", "SYN_RECV"),
            ("LETZTES_ACK", "LAST_ACK"),
            ("GESCHLOSSEN", "CLOSED"),
            ("SCHLIESSEND", "CLOSING"),
            ("SCHLIESSEN_WARTEN", "CLOSE_WAIT"),
            ("WARTEND", "TIME_WAIT"),
            ("ÉCOUTE", "LISTEN"),
            ("ÉTABLI", "ESTABLISHED"),
            ("ATTENTE_FERMÉE", "CLOSE_WAIT"),
            ("ESTABLECIDO", "ESTABLISHED"),
            ("SYN_ENVIADO", "SYN_SENT"),
            ("IN_ASCOLTO", "LISTEN"),
            ("NASŁUCHIWANIE", "LISTEN"),
            ("FIN_WAIT_2", "FIN_WAIT2"),
            ("DELETE_TCB", "CLOSED"),
            ("Bound", "BOUND"),
        ] {
            assert_eq!(normalize_state(w).as_deref(), Some(st), "{w}");
        }
        // A misdecoded letter still matches, but only a word of the same length.
        assert_eq!(normalize_state("\u{90}COUTE").as_deref(), Some("LISTEN"));
        assert_eq!(normalize_state("\u{90}COUTEX"), None);
    }
}
