"""Negativity word lists per language: negative and positive terms, negators and sarcasm markers (data only)."""

# ruff: noqa: RUF001  (word lists in Chinese, Japanese and Turkish use those scripts' own characters)

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SentimentWords:
    """Terms separated by "|"; a trailing "*" matches any ending (stems), a space separates the words of a phrase.

    For Chinese and Japanese, terms are matched as substrings. Negators flip a term within a few words before it
    (`before`) or after it (`after`, for languages that negate after the verb: "funktioniert nicht", "sorun yok").
    """

    negative: str
    positive: str
    before: str = ""
    after: str = ""
    sarcasm: str = ""


# Emoji mean the same in every language. 🙄 and 🙃 are sarcasm markers: they turn "great service" around.
NEGATIVE_EMOJI = "😡|😠|🤬|😤|😞|😢|😭|👎|💩|🤮|🤢|😩|😫|💔|😣|😖|😕|🤦"
POSITIVE_EMOJI = "😊|😍|❤️|❤|👍|🙂|😀|😁|🥰|⭐|🚀|🙏|✨|💯|👌|😃|😄|🤩|💕|🎉"
SARCASM_EMOJI = "🙄|🙃|😒|/s"

WORDS: dict[str, SentimentWords] = {
    "en": SentimentWords(
        negative="bad|worst|awful|terrible|horrible|appalling|disgusting|rubbish|garbage|junk|useless|poor|"
        "disappoint*|angry|furious|fuming|unacceptable|ridiculous|scam*|fraud*|rip off|ripoff|avoid|never again|"
        "waste|broken|broke|damaged|defective|faulty|late|delay*|lost|missing|never arrived|never received|"
        "not received|wrong|fake|counterfeit|rude|ignored|ignore*|unhelpful|refuse*|overcharged|overpriced|"
        "hidden fee*|no refund|still waiting|complain*|problem*|issue*|nightmare|shambles|joke|fell apart|"
        "stopped working|doesn't work|does not work|not working|hate|zero stars|shocking|misleading|mould*|stale",
        positive="good|great|excellent|perfect|love*|amazing|happy|pleased|satisfied|recommend*|fast|quick|"
        "friendly|helpful|brilliant|superb|fantastic|wonderful|lovely|nice|best|thank*|impressed|smooth|easy|"
        "fine|decent|solid|gorgeous|beautiful|comfortable|value|spot on|well packed|on time|top",
        before="not|no|never|hardly|without|nothing|didn't|don't|doesn't|isn't|wasn't|can't|cannot|won't|nor|zero",
        sarcasm="thanks for nothing|yeah right|thanks a lot|oh great|oh fantastic|just what i needed|. not.|. sure.",
    ),
    "de": SentimentWords(
        negative="schlecht*|schlimm*|furchtbar*|schrecklich*|katastroph*|mies*|miserabel*|grauenhaft*|ekelhaft*|"
        "enttäusch*|ärgerlich|sauer|wütend|stinksauer|unverschämt*|frechheit|betrug|betrüger*|abzocke|finger weg|"
        "nie wieder|kaputt|defekt*|beschädigt*|gebrochen|verspät*|verzöger*|verloren|fehlt|falsch*|fälschung|"
        "gefälscht*|unfreundlich*|arrogant*|ignoriert|abgelehnt|überteuert|versteckte kosten|keine antwort|"
        "warte immer noch|beschwerde*|reklamation|problem*|müll|schrott|billigschrott|saftladen|nicht zu empfehlen|"
        "funktioniert nicht|unbrauchbar|peinlich|lächerlich|null sterne|verschimmelt|irreführend*",
        positive="gut*|super|toll*|klasse|perfekt*|prima|spitze|top|hervorragend*|ausgezeichnet*|zufrieden*|"
        "empfehl*|schnell*|freundlich*|hilfsbereit*|liebe|lieben|begeistert|danke|dank|schön*|bequem*|einwandfrei|"
        "reibungslos|unkompliziert|problemlos|beeindruckt|ordentlich*|solide*|stabil|pünktlich|erstklassig*",
        before="nicht|kein|keine|keinen|keiner|nie|niemals|ohne|nichts|kaum",
        after="nicht|nie",
        sarcasm="danke für nichts|na toll|ja klar|vielen dank auch|danke auch|. nicht.|von wegen",
    ),
    "nl": SentimentWords(
        negative="slecht*|slechtste|vreselijk*|verschrikkelijk*|waardeloos|waardeloze|walgelijk*|teleurgesteld|"
        "teleurstell*|boos|woedend|schandalig|brutaal|oplicht*|nep|namaak|blijf weg|nooit meer|kapot|defect|"
        "beschadigd|gebroken|te laat|vertraging|kwijt*|ontbrak|verkeerd*|onbeleefd|onbeschoft|arrogant|"
        "afgewezen|te duur|verborgen kosten|geen reactie|geen antwoord|nog steeds|klacht*|probleem|problemen|rommel|"
        "zooitje|ramp|niet aan te raden|werkt niet|onbruikbaar|gênant|belachelijk|nul sterren|beschimmeld|balen",
        positive="goed*|geweldig*|super|top|perfect|prima|uitstekend*|tevreden|aanrader|aan te raden|snel*|"
        "vriendelijk*|behulpzaam|blij|dol|mooi*|prachtig*|fijn*|heerlijk*|bedankt|dank*|soepel|netjes|keurig|"
        "degelijk*|stevig|lekker|eersteklas|onder de indruk|op tijd",
        before="niet|geen|nooit|zonder|niks|niets|nauwelijks",
        after="niet|nooit",
        sarcasm="bedankt voor niks|lekker dan|top hoor|ja hoor|bedankt hoor|niet dus",
    ),
    "ru": SentimentWords(
        negative="плох*|ужасн*|отвратительн*|кошмар*|худш*|разочаров*|обман*|мошенн*|развод|не рекомендую|"
        "никогда больше|сломал*|слома*|брак*|повреж*|разбит*|задерж*|опозд*|потерял*|потеря*|не пришл*|"
        "не получил*|не тот|не та|не те|подделк*|груб*|хамств*|хам|игнорир*|отказ*|отклонил*|завышен*|дорого|"
        "скрыт*|жалоб*|претензи*|проблем*|безобрази*|позор*|дешёвк*|дешевк*|не работает|перестал*|"
        "ноль звёзд|плесен*|бесполезн*|кошмарн*|отписк*|пересорт|воняет|облезает",
        positive="хорош*|отличн*|прекрасн*|замечательн*|идеальн*|супер|класс|доволен|довольн*|рекомендую|"
        "быстр*|вежлив*|приятн*|спасибо|люблю|обожаю|понравил*|красив*|удобн*|качествен*|молодц*|надёжн*|"
        "надежн*|аккуратн*|вовремя|советую|впечатл*|шикарн*|первоклассн*",
        before="не|ни|нет|без|никогда|ничуть|совсем не",
        after="нет",
        sarcasm="спасибо за ничего|ну класс|ну спасибо|спасибо большое.|ага, конечно|как же|ну супер",
    ),
    "zh": SentimentWords(
        negative="差|烂|垃圾|坑|骗|假货|失望|生气|气死|恶心|糟糕|后悔|投诉|退款|坏|破|碎|慢|延迟|丢|没收到|"
        "不是|发错|色差|态度差|态度恶劣|不理|不回|拒绝|贵|乱收费|问题|毛病|别买|不推荐|踩雷|无语|过分|傲慢|发霉|散架|"
        "漏|起球|掉|不能用|不好|太差|最差|骗子|一般般|爱答不理",
        positive="好|棒|赞|满意|喜欢|爱|推荐|很快|好快|超快|发货快|完美|不错|漂亮|舒服|实惠|值|谢谢|感谢|耐心|热情|"
        "好评|回购|惊喜|精美|好看|合身|结实|顺利|方便|超值|一流",
        before="不|没|沒|别|無|无|未|从不|从来没",  # not 非: "非常" means "very"
        sarcasm="呵呵|真棒，|真是太好了|谢谢你们什么都没做|太好了，",
    ),
    "fr": SentimentWords(
        negative="mauvais*|nul|nulle|horrible|affreux|lamentable|dégoûtant*|décevant*|déçu*|arnaque|escroc*|fuyez|"
        "inadmissible|cassé*|abîmé*|endommagé*|retard*|perdu|jamais reçu|contrefaçon|faux|fausse|désagréable|"
        "méprisant*|impoli*|ignoré*|refus*|trop cher|exorbitant|frais cachés|aucune réponse|problème*|panne|pire|"
        "honteux|inutilisable|spam",
        positive="bon|bonne|bien|excellent*|parfait*|super|top|ravi*|satisfait*|content*|recommande|rapide*|"
        "sympathique|aimable|merci|adore|beau|belle|jolie|impeccable|soigné*|efficace|conforme",
        before="ne|pas|jamais|sans|aucun|aucune|rien|n",
        after="pas|jamais|rien",
        sarcasm="merci pour rien|super, encore|bravo, encore",
    ),
    "es": SentimentWords(
        negative="malo|mala|pésimo*|horrible|fatal|asqueroso*|decepcion*|estafa|timo|inaceptable|vergüenza|roto|"
        "rota|dañado*|estropeado*|retraso|tarde|perdido|nunca recibí|falsificación|falso|borde|despectiv*|grosero*|"
        "ignor*|niega*|negado|caro|abusivo|gastos ocultos|sin respuesta|problema*|peor|inútil|spam",
        positive="bueno|buena|bien|excelente|perfecto*|genial|encantad*|encanta|satisfech*|contento*|recomiendo|"
        "rápido*|amable|gracias|bonito|bonita|impecable|cuidado|eficaz|sólido",
        before="no|nunca|sin|nada|ningún|ninguna|tampoco",
        sarcasm="gracias por nada|genial, otra|qué bien, otra",
    ),
    "it": SentimentWords(
        negative="pessim*|orribile|schifo*|disgustoso|delus*|deludente|truffa|inaccettabile|vergogna|rotto|rotta|"
        "danneggiat*|guast*|ritardo|perso|mai ricevuto|falso|scortese|sprezzante|ignor*|rifiut*|caro|esagerato|"
        "costi nascosti|nessuna risposta|problem*|peggiore|inutile|spam",
        positive="buono|buona|bene|ottim*|perfett*|eccellente|fantastico|soddisfatt*|contento|consiglio|"
        "consigliato|veloce|gentile|grazie|adoro|bello|bella|impeccabile|curato|efficiente|felicissim*",
        before="non|mai|senza|niente|nessun|nessuna|né",
        sarcasm="grazie di niente|grazie per niente|fantastico, un'altra|complimenti, ancora",
    ),
    "pl": SentimentWords(
        negative="zł*|fataln*|okropn*|beznadziejn*|obrzydliw*|rozczarow*|oszust*|oszukan*|skandal|zepsu*|uszkodz*|"
        "pęk*|opóźn*|zgubion*|nie doszł*|podróbka|niemił*|arogancki|arogancka|ignor*|odmawia*|drogo|za drogo|"
        "ukryte opłaty|brak odpowiedzi|problem*|najgorsz*|nie polecam|spam",
        positive="dobr*|świetn*|doskonał*|idealn*|super|polecam|zadowolon*|szybk*|mił*|dziękuję|dzięki|uwielbiam|"
        "ładn*|piękn*|solidn*|zachwycon*|bez zarzutu",
        before="nie|bez|nigdy|żadnych|ani",
        sarcasm="dzięki za nic|super, kolejne|no pięknie",
    ),
    "tr": SentimentWords(
        negative="kötü|berbat|rezalet|iğrenç|hayal kırıklığı|dolandırıcı*|sahtekar|bozuk|bozuldu|kırık|kırıldı|"
        "hasarlı|arızalan*|gecik*|geç geldi|kayboldu|gelmedi|çakma|sahte|kaba|küçümseyici|görmezden|reddediyor*|"
        "pahalı|abartılı|gizli ücret*|cevap yok|cevap vermiyor|sorun|şikayet*|en kötü|beğenmedim|"
        "çalışmıyor|çalışmayı bıraktı|tavsiye etmem|spam",
        positive="iyi|güzel|harika|mükemmel|süper|memnun*|tavsiye ederim|hızlı|nazik|teşekkür*|bayıldım|sağlam|"
        "kusursuz|özenli|kaliteli",
        after="değil|yok|olmadı",
        sarcasm="harika, yine|çok teşekkürler ya|eline sağlık ya",
    ),
    "ja": SentimentWords(
        negative="最悪|ひどい|酷い|悪い|がっかり|残念|不満|詐欺|壊れ|故障|破損|遅れ|遅い|届かない|届いていない|"
        "紛失|偽物|違う|失礼|態度が悪|無視|拒否|高すぎ|返金されない|返事がない|問題|気持ち悪い|ありえない|"
        "迷惑|毛玉|割れ|取れた|動かない",
        positive="良い|よい|いい|満足|最高|素晴らしい|おすすめ|早い|丁寧|親切|ありがとう|大好き|完璧|"
        "きれい|綺麗|しっかり|迅速|文句なし|嬉しい|喜んで|よかった",
        after="ない|なかった|ません|なし|無し",
        sarcasm="さすがですね|ありがとうございました（笑）|（笑）",
    ),
}
