"""Complaint-category keywords per language and the platform hints that name a category (data only)."""

# ruff: noqa: RUF001  (word lists in Chinese, Japanese and Turkish use those scripts' own characters)

from __future__ import annotations

# Terms separated by "|"; a trailing "*" matches any ending; Chinese and Japanese terms match as substrings.
# Damage in transit is logistics (DESIGN.md: late, lost, damaged delivery); broken in use is quality.
CATEGORY_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "logistics": "deliver*|parcel*|package*|shipping|shipped|courier*|tracking|arriv*|dispatch*|transit|"
        "postman|driver|lost|late|crushed|in pieces|left outside|out for delivery|never came|doorstep|box arrived",
        "not_as_described": "description|described|listing|pictur*|photo*|size*|colour*|color*|fake|counterfeit|"
        "knockoff|wrong item|wrong model|wrong size|wrong colour|different|advertised|smaller than|larger than|"
        "nothing like|genuine|misleading|used one|tag says|label says|dimensions",
        "service": "customer service|support|staff|agent|manager|rude|attitude|ignor*|no reply|no answer|"
        "never replied|hung up|on hold|ticket*|refused to help|arrogant|unhelpful|dismissive|email*|callback|"
        "chat|condescending|responsib*|complaint",
        "quality": "broke|broken|break*|stopped working|quality|cheap material*|flimsy|fell apart|defect*|faulty|"
        "snapped|cracked|peeling|burnt|died|overheat*|leak*|mould*|stale|bug in|insect|caterpillar|smell*|reek*|"
        "pilled|came undone|wobbl*",
        "price": "refund*|charged|charge|overcharg*|billed|price*|expensive|overpriced|fee*|money back|"
        "my money|discount|voucher|cost*|paid|pay|double|subscription|restocking|customs",
        "other": "website|site|app|account|password|log in|login|spam|newsletter|unsubscrib*|data|privacy|leak|"
        "advert*|crash*|scam*",
    },
    "de": {
        "logistics": "liefer*|paket*|sendung*|versand*|verschick*|zustell*|bote|boten|paketbote|fahrer|dhl|hermes|"
        "tracking|sendungsverfolgung|angekommen|verspät*|verloren|eingedrückt|scherben|transport*|packstation",
        "not_as_described": "beschreibung|beschrieben|abgebildet|bild*|foto*|größe*|nummer*|farbe*|fälschung|"
        "gefälscht*|kopie|falsch* artikel|falsche größe|falsches modell|anders als|kleiner als|original*|"
        "echtleder|etikett|maße|gebraucht*|angeblich",
        "service": "kundenservice|kundendienst|support|mitarbeiter*|verkäufer*|filialleiter|marktleiter|"
        "unfreundlich*|arrogant*|ignor*|keine antwort|antwortet nicht|aufgelegt|warteschleife|ticket*|"
        "rückruf|reklamation|beschwerde|chat|herablassend*|zuständig|reagiert nicht|e-mail*|mails",
        "quality": "kaputt|defekt*|qualität|verarbeitung|billig*|abgebrochen|gebrochen|gerissen|auseinander*|"
        "funktioniert nicht|funktioniert nach|blättert|durchgebrannt|hält nicht|naht|knötchen|verschimmelt|raupe|"
        "käfer|undicht|stinkt|flackert|klemmen",
        "price": "erstattung|rückerstattung|rückzahlung|geld zurück|mein geld|abgebucht|abbuch*|preis*|teuer|"
        "überteuert|gebühr*|kosten|rabatt|gutschein*|bezahlt|doppelt|abo|zoll*|berechnet",
        "other": "webseite|website|seite|app|konto|passwort|spam|newsletter|werbung|werbemails|daten*|"
        "abmelden|abzocke|betrüger*",
    },
    "nl": {
        "logistics": "bezorg*|lever*|pakket*|zending|verzend*|verstuur*|postnl|dhl|track|trace|onderweg|"
        "afhaalpunt|te laat|vertraging|kwijt*|ingedeukt|gruzelementen|aangekomen|binnengekomen|buren",
        "not_as_described": "omschrijving|beschreven|beschrijving|foto*|afbeelding|maat|maten|kleur*|nep|namaak|"
        "nagemaakt|verkeerd* artikel|verkeerde maat|verkeerd model|anders dan|kleiner dan|origineel*|echt leer|"
        "label|etiket|afmeting*|gebruikt* exemplaar|zogenaamd",
        "service": "klantenservice|helpdesk|medewerker*|verkoper*|verkoopster|bedrijfsleider|filiaalmanager|"
        "onbeleefd|onbeschoft|arrogant|geen reactie|geen antwoord|reageert niet|opgehangen|in de wacht|"
        "ticket*|terugbellen|klacht|chat|neerbuigend|verantwoordelijk|kastje naar de muur|mail*",
        "quality": "kapot|defect|kwaliteit|afwerking|goedkoop|rommel|afgebroken|gebroken|scheurde|uit elkaar|"
        "werkt niet|doet het niet|bladdert|doorgebrand|naad|pluist|beschimmeld|rups|kever|lekte|lekt|stinkt|"
        "flikkert|blijven hangen",
        "price": "terugbetal*|terugstort*|geld terug|mijn geld|afgeschreven|prijs*|duur|kosten|korting*|"
        "kortingscode|betaald|betalen|dubbel|abonnement|invoerrechten|gerekend|prijsverschil",
        "other": "website|site|app|account|inloggen|wachtwoord|spam|nieuwsbrief|reclame*|gegevens|datalek|"
        "afmelden|oplicht*",
    },
    "ru": {
        "logistics": "доставк*|достав*|посылк*|курьер*|трек*|отправ*|пришл*|пришёл|привез*|задерж*|потерял*|"
        "в пути|пункт выдачи|вручено|коробк*|почт*|транспорт*|смят*|осколк*|опоздал*",
        "not_as_described": "описани*|фото*|размер*|цвет*|подделк*|копи*|не тот|не та|не ту|не те|"
        "другой|другая|маломерит|оригинал*|натуральн*|бирк*|этикетк*|заявлен*|пересорт|б/у|якобы",
        "service": "поддержк*|сотрудни*|продав*|менеджер*|управляющ*|директор*|груб*|хам*|игнорир*|не отвеча*|"
        "без ответа|ответа|трубку|на линии|обращени*|перезвон*|претензи*|жалоб*|чат*|отписк*|отдел*|отказыва*",
        "quality": "сломал*|слома*|брак*|качеств*|дешёвк*|развалил*|отломил*|треснул*|перестал*|облезает|"
        "сгорел*|шов|скатал*|плесен*|гусениц*|жук|перегрева*|мерца*|западают|воняет|запах",
        "price": "возврат* денег|вернуть деньги|деньги|списал*|списыва*|цен*|дорого|завышен*|комисси*|"
        "стоимост*|скидк*|промокод|оплат*|заплатил*|дважды|трижды|подписк*|таможен*|платеж*|рубл*",
        "other": "сайт*|приложени*|аккаунт*|личный кабинет|парол*|спам|рассылк*|реклам*|данные|утечк*|мошенни*|развод",
    },
    "zh": {
        "logistics": "物流|快递|包裹|发货|派送|签收|送到|收到|配送|延迟|丢|压扁|碎|退回|运输|到货|加急|易碎",
        "not_as_described": "描述|图片|照片|卖家秀|尺码|码|颜色|色差|假货|高仿|仿品|正品|发错|不一样|不是|"
        "型号|实物|吊牌|标签|二手|纯棉|真皮|实木",
        "service": "客服|店员|店长|掌柜|售后|态度|不理|不回|没人回|没人理|挂|投诉|工单|拒绝|推卸|模板|傲慢|"
        "不耐烦|回电|回复",
        "quality": "质量|做工|坏|断|裂|散架|开线|起球|掉漆|漆|不能用|烧|发霉|虫|漏|闪|卡住|味道|不新鲜|划痕|发烫|关机",
        "price": "退款|扣款|扣了|扣钱|价格|价钱|贵|运费|手续费|优惠|降价|差价|全款|关税|订阅|收费|智商税",
        "other": "网站|app|账号|密码|登录|短信|广告|推送|邮箱|信息|泄露|注销|骗",
    },
    "fr": {
        "logistics": "colis|livr*|livreur|suivi|transit|retard*|perdu|reçu|carton|expédi*",
        "not_as_described": "description|photo*|taille*|couleur*|contrefaçon|faux|modèle|annonce|dimensions|"
        "cuir|conforme",
        "service": "service client|vendeu*|réponse|répond*|raccroch*|réclamation|attente|méprisant*|"
        "désagréable|responsable",
        "quality": "cassé*|panne|qualité|bouloch*|fissur*|insecte|défectueu*|fonctionne plus",
        "price": "rembours*|débité*|prélevé*|prix|cher|frais|réduction|payé*",
        "other": "site|compte|spam|application|mot de passe|données",
    },
    "es": {
        "logistics": "paquete*|envío|entrega*|repartidor|tránsito|retraso|llegó|tarde|perdido|recibí|caja",
        "not_as_described": "descripción|describe|foto*|talla*|color*|falsificación|falso|modelo|anuncio|medidas|cuero",
        "service": "atención|dependient*|respuesta|contesta*|cuelgan|reclamación|departamento|despectiv*|"
        "borde|responsable",
        "quality": "roto|rota|rompió|estropeó|calidad|bolitas|agriet*|bicho|defectuos*|dejó de funcionar",
        "price": "reembolso|cobr*|precio|caro|gastos|descuento|dinero|pagué",
        "other": "web|cuenta|spam|aplicación|contraseña|datos",
    },
    "it": {
        "logistics": "pacco|spedizione|consegn*|corriere|transito|ritardo|arrivato|perso|ricevuto",
        "not_as_described": "descrizione|descritto|foto|taglia|colore|falso|modello|annuncio|misure|pelle",
        "service": "assistenza|servizio clienti|commess*|risposta|risponde|riattacc*|reclamo|sprezzante|"
        "scortese|responsabilità",
        "quality": "rotto|rotta|guast*|qualità|pallini|crepat*|insetto|difettos*|smesso di funzionare",
        "price": "rimbors*|addebit*|prezzo|caro|costi|sconto|soldi|pagato",
        "other": "sito|account|spam|app|password|dati",
    },
    "pl": {
        "logistics": "paczk*|przesyłk*|dostaw*|kurier*|wysyłk*|tranzyt*|doszł*|karton|zamówieni*",
        "not_as_described": "opis*|zdjęci*|rozmiar*|kolor*|podróbka|model|ogłoszeni*|wymiary|skóra",
        "service": "obsług*|sprzedaw*|ekspedient*|odpowiedzi|odpisuje|infolini*|reklamacj*|arogancki|"
        "arogancka|niemił*|dział*",
        "quality": "zepsuł*|zepsu*|jakość|mechaci|pękł*|robak|wadliw*|urwał*|przestał działać",
        "price": "zwrot*|pobral*|opłat*|cen*|drogo|rabat|pieniądze|zapłaci*",
        "other": "strona|stron*|kont*|spam|aplikacj*|hasło|dane",
    },
    "tr": {
        "logistics": "kargo*|paket*|teslim*|kurye|transfer*|gecik*|geç geldi|gelmedi|kutu",
        "not_as_described": "açıklama*|fotoğraf*|beden*|renk*|çakma|sahte|model|ilan*|ölçü*|deri",
        "service": "müşteri hizmetleri|destek*|satış görevlisi|çalışan*|cevap*|kapattılar|şikayet*|"
        "küçümseyici|kaba|sorumluluk",
        "quality": "bozul*|kırıl*|arıza*|kalite*|tüylendi|çatla*|böcek|çalışmıyor|çalışmayı bıraktı",
        "price": "iade*|para|ücret*|fiyat*|pahalı|indirim*|ödeme*|ödedim",
        "other": "site|hesab*|spam|uygulama|şifre|veri*",
    },
    "ja": {
        "logistics": "配達|配送|荷物|発送|届|輸送|遅れ|速達|箱|紛失",
        "not_as_described": "説明|写真|サイズ|色|偽物|モデル|違う|本革|商品説明",
        "service": "サポート|カスタマー|店員|対応|返事|返信|電話|クレーム|態度|たらい回し|無視",
        "quality": "壊れ|故障|品質|毛玉|割れ|取れ|虫|動かなくな|不良",
        "price": "返金|請求|値段|価格|高すぎ|手数料|割引|料金",
        "other": "サイト|アカウント|迷惑メール|アプリ|パスワード|個人情報",
    },
}

# Platform hints, matched on their last word ("topic:shipping", "Delivery:late", "item_not_received").
# eBay feedback topics, Trustpilot tag values, marketplace complaint and return reasons.
HINT_CATEGORIES: dict[str, str] = {
    "shipping": "logistics",
    "delivery": "logistics",
    "packaging": "logistics",
    "late_delivery": "logistics",
    "not_received": "logistics",
    "item_not_received": "logistics",
    "lost": "logistics",
    "damaged_in_transit": "logistics",
    "logistics": "logistics",
    "description": "not_as_described",
    "item_as_described": "not_as_described",
    "not_as_described": "not_as_described",
    "item_not_as_described": "not_as_described",
    "significantly_not_as_described": "not_as_described",
    "wrong_item": "not_as_described",
    "wrong_size": "not_as_described",
    "counterfeit": "not_as_described",
    "fake": "not_as_described",
    "service": "service",
    "customer_service": "service",
    "seller_satisfaction": "service",
    "communication": "service",
    "seller_unresponsive": "service",
    "quality": "quality",
    "product_quality": "quality",
    "defective": "quality",
    "broken": "quality",
    "stopped_working": "quality",
    "price": "price",
    "pricing": "price",
    "refund": "price",
    "refund_not_received": "price",
    "overcharged": "price",
    "billing": "price",
}
