"""Simulator phrasebooks for ru, zh, fr, es, it, pl, tr and ja (data only; see texts.Phrasebook and texts.compose)."""

# ruff: noqa: RUF001  (Chinese, Japanese and Turkish texts use those scripts' own punctuation and letters)

from __future__ import annotations

from services.simulator.phrasebook import Phrasebook

# Closings follow every negative category, so they carry no category keywords (see category_words.py): a
# closing like "I want my money back" would pull every complaint towards "price".

_RU = Phrasebook(
    positive_titles=("Отличный магазин", "Быстрая доставка", "Очень довольна", "Буду заказывать ещё", "Всё супер"),
    positive_sentences=(
        "Посылка пришла на день раньше и была хорошо упакована.",
        "Всё как в описании, качество отличное.",
        "Поддержка ответила меньше чем через час, очень вежливо.",
        "Заказ оформила за пару минут, оплата прошла без проблем.",
        "Уже второй заказ в этом году, и снова всё отлично.",
        "Хорошие цены и быстрая отправка, спасибо!",
    ),
    neutral_titles=("Нормально", "Средне", "Ничего особенного"),
    neutral_sentences=(
        "Доставка заняла чуть больше времени, чем обещали, но товар нормальный.",
        "Неплохой товар, но упаковка могла быть лучше.",
        "Свою функцию выполняет, хотя сайт заметно тормозил.",
    ),
    negative_titles={
        "logistics": ("Посылка так и не пришла", "До сих пор жду заказ", "Потеряли посылку", "Коробка пришла смятой"),
        "quality": ("Сломался через неделю", "Ужасное качество", "Перестал работать"),
        "service": ("Поддержка не отвечает", "Хамство сотрудников", "Игнорируют обращения"),
        "not_as_described": ("Не соответствует описанию", "Прислали не тот товар", "Не тот размер и цвет"),
        "price": ("Списали деньги дважды", "Деньги так и не вернули", "Скрытые платежи"),
    },
    negative_sentences={
        "logistics": (
            "Посылка так и не пришла, трек-номер не обновляется уже десять дней.",
            "Курьер отметил заказ как врученный, но у двери ничего не было.",
            "Три недели задержки, и никто не может сказать, где моя посылка.",
            "Коробка пришла смятой, содержимое повреждено.",
        ),
        "quality": (
            "Товар сломался через неделю обычного использования.",
            "Дешёвые материалы, почти сразу перестал работать.",
            "Швы разошлись после первой стирки, качество ужасное.",
            "Брак: экран треснул через три дня, кнопки западают.",
        ),
        "service": (
            "Написала в поддержку четыре письма и не получила ни одного ответа.",
            "Сотрудник по телефону нагрубил и бросил трубку.",
            "Поддержка закрыла обращение, так ничего и не решив.",
            "Одни отписки, менеджеры хамят, никто не отвечает за свои слова.",
        ),
        "not_as_described": (
            "Товар совсем не похож на фото в карточке.",
            "Прислали не тот размер и совершенно другой цвет.",
            "В описании были заявлены функции, которых у товара нет.",
            "Заявлена натуральная кожа, а по факту дешёвая подделка.",
        ),
        "price": (
            "Деньги списали дважды, а вернуть деньги до сих пор не могут.",
            "Комиссия появилась только на последнем шаге оплаты.",
            "Обещанный месяц назад возврат денег так и не поступил.",
            "Цена в корзине внезапно выросла, а скидку так и не применили.",
        ),
    },
    negative_closings=("Больше никогда.", "Не рекомендую.", "Очень разочарована.", "Обходите этот магазин стороной."),
    first_names=("Анна", "Дмитрий", "Екатерина", "Алексей", "Ольга", "Сергей", "Мария", "Иван", "Наталья", "Андрей"),
    last_initials="АБВГКЛМНПСТ",
    locations=("Москва, RU", "Санкт-Петербург, RU", "Казань, RU", "Екатеринбург, RU", "Новосибирск, RU"),
)

_ZH = Phrasebook(
    positive_titles=("服务很好", "发货超快", "非常满意", "还会回购", "良心店铺"),
    positive_sentences=(
        "包裹提前一天就到了，包装得很仔细。",
        "和描述的一模一样，质量很好。",
        "客服一个小时内就回复了，态度很好。",
        "下单方便，付款也很顺利。",
        "今年第二次下单了，依然很满意。",
        "价格实惠，发货也快，谢谢！",
    ),
    neutral_titles=("还行", "中规中矩", "凑合"),
    neutral_sentences=(
        "物流比承诺的慢了一点，不过东西还可以。",
        "东西还凑合，包装可以再好一点。",
        "能用，就是网站有点卡。",
    ),
    negative_titles={
        "logistics": ("包裹一直没到", "等了半个月还没发货", "快递丢件了", "包裹被压扁了"),
        "quality": ("用了一周就坏了", "质量太差", "没几天就不能用了"),
        "service": ("客服根本不回复", "客服态度恶劣", "投诉没人理"),
        "not_as_described": ("与描述不符", "发错货了", "尺码颜色都不对"),
        "price": ("被重复扣款", "退款迟迟不到账", "乱收费"),
    },
    negative_sentences={
        "logistics": (
            "包裹一直没到，物流十天都没有更新了。",
            "快递显示已签收，可是我家门口什么都没有。",
            "晚了三个星期，没人能告诉我快递到底在哪。",
            "外箱被压扁了，里面的东西也碎了。",
        ),
        "quality": (
            "正常使用了一个星期就坏了。",
            "做工粗糙，用料廉价，没几天就不能用了。",
            "第一次洗就开线了，质量太差。",
            "屏幕三天就出现裂纹，按键也经常卡住。",
        ),
        "service": (
            "发了四封邮件，客服一封都没回复。",
            "电话里的客服态度很差，说着说着就挂了电话。",
            "售后直接把我的投诉关掉了，什么都没解决。",
            "客服只会发模板回复，互相推卸责任。",
        ),
        "not_as_described": (
            "实物和图片完全不一样，卖家秀和买家秀差太多。",
            "尺码发错了，颜色也和下单的不一样。",
            "描述里写的功能，这个东西根本没有。",
            "说是真皮，其实是人造革，明显是仿品。",
        ),
        "price": (
            "被扣了两次款，到现在还没退款。",
            "付款最后一步才冒出来一笔手续费。",
            "一个月前答应的退款到现在都没到账。",
            "下单后第二天就降价了，差价也不给补。",
        ),
    },
    negative_closings=("再也不买了。", "大家别买。", "非常失望。", "差评！"),
    first_names=("Wei", "Fang", "Jing", "Lei", "Min", "Yan", "Jun", "Tao", "Xiaoyu", "Hao"),
    last_initials="CGHLWXYZ",
    locations=("上海, CN", "北京, CN", "广州, CN", "深圳, CN", "成都, CN"),
)

_FR = Phrasebook(
    positive_titles=("Service impeccable", "Livraison rapide", "Très satisfaite", "Je recommande", "Boutique au top"),
    positive_sentences=(
        "Colis reçu avec un jour d'avance et très bien emballé.",
        "Article conforme à la description, la qualité est au rendez-vous.",
        "Le service client m'a répondu en moins d'une heure, très aimable.",
        "Commande simple et paiement sans souci.",
        "Deuxième commande cette année et toujours aussi content.",
        "Des prix corrects et une expédition rapide, merci !",
    ),
    neutral_titles=("Correct", "Sans plus", "Moyen"),
    neutral_sentences=(
        "La livraison a pris un peu plus de temps que prévu, mais le produit est correct.",
        "Produit honnête, l'emballage pourrait être plus soigné.",
        "Ça fait le travail, même si le site était un peu lent.",
    ),
    negative_titles={
        "logistics": ("Colis jamais reçu", "Commande toujours pas livrée", "Colis perdu", "Colis arrivé abîmé"),
        "quality": ("Cassé au bout d'une semaine", "Qualité médiocre", "Tombé en panne"),
        "service": ("Service client injoignable", "Service client désagréable", "Aucune réponse à mes mails"),
        "not_as_described": (
            "Pas conforme à la description",
            "Mauvais article envoyé",
            "Ni la bonne taille ni la bonne couleur",
        ),
        "price": ("Débité deux fois", "Toujours pas remboursé", "Frais cachés"),
    },
    negative_sentences={
        "logistics": (
            "Mon colis n'est jamais arrivé et le suivi n'a pas bougé depuis dix jours.",
            "Le livreur l'a marqué comme livré, mais il n'y avait rien devant ma porte.",
            "Trois semaines de retard et personne n'est capable de me dire où est mon colis.",
            "Le carton est arrivé écrasé et le contenu était abîmé.",
        ),
        "quality": (
            "Le produit s'est cassé au bout d'une semaine d'utilisation normale.",
            "Matériaux bas de gamme, il est tombé en panne presque tout de suite.",
            "Les coutures ont lâché dès la première utilisation, qualité vraiment médiocre.",
            "L'écran est défectueux et l'appareil ne fonctionne plus après trois jours.",
        ),
        "service": (
            "J'ai envoyé quatre mails au service client et je n'ai jamais eu de réponse.",
            "La conseillère au téléphone a été désagréable et m'a raccroché au nez.",
            "Le service client a clôturé ma réclamation sans rien résoudre.",
            "Des réponses toutes faites, un ton méprisant, et aucun responsable ne rappelle.",
        ),
        "not_as_described": (
            "L'article ne ressemble en rien aux photos de l'annonce.",
            "Mauvaise taille et mauvaise couleur, ce n'est pas le modèle commandé.",
            "La description promettait des fonctions que le produit n'a pas.",
            "Vendu comme du cuir véritable, c'est du faux, une vraie contrefaçon.",
        ),
        "price": (
            "J'ai été débité deux fois et je n'ai toujours pas été remboursé.",
            "Des frais supplémentaires sont apparus seulement au moment de payer.",
            "Le remboursement promis il y a un mois n'a jamais été fait.",
            "Le prix a augmenté dans le panier et la réduction annoncée n'a pas été appliquée.",
        ),
    },
    negative_closings=("Plus jamais.", "Fuyez cette boutique.", "Très déçue.", "Je ne recommande pas du tout."),
    first_names=("Camille", "Julien", "Léa", "Thomas", "Chloé", "Nicolas", "Manon", "Hugo", "Inès", "Mathieu"),
    last_initials="BDFGLMPRV",
    locations=("Paris, FR", "Lyon, FR", "Marseille, FR", "Toulouse, FR", "Bruxelles, BE"),
)

_ES = Phrasebook(
    positive_titles=(
        "Servicio excelente",
        "Envío rapidísimo",
        "Muy contenta",
        "Repetiré seguro",
        "Tienda de confianza",
    ),
    positive_sentences=(
        "El paquete llegó un día antes y muy bien embalado.",
        "Tal cual la descripción y de muy buena calidad.",
        "Atención al cliente me contestó en menos de una hora.",
        "Pedido sencillo y pago sin complicaciones.",
        "Es mi segundo pedido este año y otra vez todo perfecto.",
        "Buenos precios y envío rápido, gracias.",
    ),
    neutral_titles=("Correcto", "Normalito", "Ni fu ni fa"),
    neutral_sentences=(
        "La entrega tardó algo más de lo prometido, pero el producto está bien.",
        "Producto decente, aunque el embalaje podría mejorar.",
        "Cumple su función, aunque la web iba lenta.",
    ),
    negative_titles={
        "logistics": ("El paquete nunca llegó", "Sigo esperando mi pedido", "Envío perdido", "Paquete dañado"),
        "quality": ("Se rompió a la semana", "Calidad pésima", "Dejó de funcionar"),
        "service": ("Atención al cliente inexistente", "Trato muy borde", "Nadie contesta los correos"),
        "not_as_described": (
            "No es lo que describe el anuncio",
            "Me mandaron otro modelo",
            "Talla y color equivocados",
        ),
        "price": ("Me cobraron de más", "Sigo sin reembolso", "Gastos ocultos"),
    },
    negative_sentences={
        "logistics": (
            "Mi paquete nunca llegó y el seguimiento lleva diez días sin moverse.",
            "El repartidor lo marcó como entregado, pero en mi puerta no había nada.",
            "Tres semanas de retraso y nadie sabe decirme dónde está el paquete.",
            "La caja llegó aplastada y el contenido venía dañado.",
        ),
        "quality": (
            "El producto se rompió tras una semana de uso normal.",
            "Materiales baratos, dejó de funcionar casi enseguida.",
            "Las costuras se abrieron la primera vez que lo usé, la calidad es malísima.",
            "Salió defectuoso: la pantalla parpadea y a los tres días se estropeó del todo.",
        ),
        "service": (
            "He mandado cuatro correos a atención al cliente y nunca he tenido respuesta.",
            "La persona que me atendió por teléfono fue muy borde y me colgó.",
            "Atención al cliente cerró mi reclamación sin resolver nada.",
            "Respuestas automáticas, trato despectivo y ningún responsable da la cara.",
        ),
        "not_as_described": (
            "Lo que me mandaron no se parece en nada a las fotos.",
            "Talla equivocada y un color distinto al que pedí.",
            "La descripción prometía funciones que el producto no tiene.",
            "Lo venden como cuero auténtico y es una imitación, un modelo falso.",
        ),
        "price": (
            "Me cobraron dos veces y sigo sin ver el reembolso.",
            "Los gastos de gestión solo aparecieron al final del pago.",
            "El reembolso que me prometieron hace un mes sigue sin aparecer.",
            "El precio subió al pagar y encima no me aplicaron el descuento.",
        ),
    },
    negative_closings=("Nunca más.", "No compréis aquí.", "Muy decepcionada.", "Una vergüenza."),
    first_names=("Lucía", "Javier", "Carmen", "Alejandro", "Marta", "Pablo", "Sofía", "Diego", "Elena", "Sergio"),
    last_initials="DFGLMPRS",
    locations=("Madrid, ES", "Barcelona, ES", "Valencia, ES", "Sevilla, ES", "Bilbao, ES"),
)

_IT = Phrasebook(
    positive_titles=(
        "Servizio ottimo",
        "Spedizione velocissima",
        "Molto soddisfatta",
        "Ricomprerò sicuramente",
        "Negozio consigliatissimo",
    ),
    positive_sentences=(
        "Il pacco è arrivato con un giorno di anticipo e ben imballato.",
        "Esattamente come nella descrizione e di ottima qualità.",
        "Il servizio clienti mi ha risposto entro un'ora, gentilissimi.",
        "Ordine semplice e pagamento senza intoppi.",
        "Secondo ordine quest'anno e di nuovo tutto perfetto.",
        "Prezzi onesti e consegna rapida, grazie!",
    ),
    neutral_titles=("Nella media", "Discreto", "Niente di speciale"),
    neutral_sentences=(
        "La consegna ha richiesto qualche giorno in più, ma il prodotto va bene.",
        "Prodotto discreto, l'imballaggio potrebbe essere migliore.",
        "Fa il suo lavoro, anche se il sito era lento.",
    ),
    negative_titles={
        "logistics": ("Pacco mai arrivato", "Consegna ancora in sospeso", "Spedizione persa", "Pacco danneggiato"),
        "quality": ("Rotto dopo una settimana", "Qualità scadente", "Ha smesso di funzionare"),
        "service": ("Assistenza inesistente", "Servizio clienti scortese", "Nessuna risposta alle email"),
        "not_as_described": ("Non corrisponde alla descrizione", "Modello sbagliato", "Taglia e colore sbagliati"),
        "price": ("Addebito doppio", "Ancora nessun rimborso", "Costi nascosti"),
    },
    negative_sentences={
        "logistics": (
            "Il mio pacco non è mai arrivato e il tracciamento è fermo da dieci giorni.",
            "Secondo il corriere è stato consegnato, ma davanti alla porta non c'era nulla.",
            "Tre settimane di ritardo e nessuno sa dirmi dove sia finito il pacco.",
            "Il pacco è arrivato schiacciato e il contenuto era danneggiato.",
        ),
        "quality": (
            "Il prodotto si è rotto dopo una settimana di uso normale.",
            "Materiali scadenti, ha smesso di funzionare quasi subito.",
            "Le cuciture si sono aperte al primo utilizzo, qualità pessima.",
            "Difettoso fin dall'inizio: lo schermo sfarfalla e dopo tre giorni si è guastato.",
        ),
        "service": (
            "Ho scritto quattro email all'assistenza e nessuno mi ha dato una risposta.",
            "L'operatore al telefono è stato scortese e mi ha riattaccato in faccia.",
            "L'assistenza ha chiuso il mio reclamo senza risolvere nulla.",
            "Risposte automatiche, tono sprezzante e nessuno si prende la responsabilità.",
        ),
        "not_as_described": (
            "L'articolo non assomiglia per niente alle foto dell'annuncio.",
            "Taglia sbagliata e colore diverso da quello ordinato.",
            "La descrizione prometteva funzioni che il prodotto non ha.",
            "Venduto come vera pelle, invece è un modello falso di plastica.",
        ),
        "price": (
            "Mi hanno addebitato l'importo due volte e il rimborso non si vede.",
            "Costi extra comparsi solo alla fine del pagamento, prima non se ne parlava.",
            "Il rimborso promesso un mese fa non è mai stato fatto.",
            "Il prezzo nel carrello è salito e lo sconto promesso non è mai stato applicato.",
        ),
    },
    negative_closings=("Mai più.", "Statene alla larga.", "Davvero delusa.", "Una vergogna."),
    first_names=("Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo", "Elisa", "Davide"),
    last_initials="BCDFGMRS",
    locations=("Milano, IT", "Roma, IT", "Napoli, IT", "Torino, IT", "Bologna, IT"),
)

_PL = Phrasebook(
    positive_titles=(
        "Świetna obsługa",
        "Szybka dostawa",
        "Bardzo zadowolona",
        "Na pewno zamówię ponownie",
        "Polecam ten sklep",
    ),
    positive_sentences=(
        "Paczka dotarła dzień wcześniej i była starannie zapakowana.",
        "Wszystko zgodne z opisem, jakość bardzo dobra.",
        "Obsługa klienta odpisała w niecałą godzinę.",
        "Proste zamawianie i sprawna płatność.",
        "To już moje drugie zamówienie w tym roku i znowu wszystko super.",
        "Dobre ceny i błyskawiczna wysyłka, dziękuję!",
    ),
    neutral_titles=("W porządku", "Przeciętnie", "Bez rewelacji"),
    neutral_sentences=(
        "Dostawa trwała trochę dłużej, niż obiecywano, ale produkt jest w porządku.",
        "Przyzwoity produkt, opakowanie mogłoby być lepsze.",
        "Spełnia swoje zadanie, choć strona wczytywała się wolno.",
    ),
    negative_titles={
        "logistics": (
            "Paczka nigdy nie dotarła",
            "Wciąż czekam na zamówienie",
            "Przesyłka zaginęła",
            "Paczka uszkodzona",
        ),
        "quality": ("Zepsuł się po tygodniu", "Fatalna jakość", "Pękł przy pierwszym użyciu"),
        "service": ("Obsługa klienta nie odpowiada", "Arogancka obsługa", "Zero odpowiedzi na maile"),
        "not_as_described": ("Niezgodny z opisem", "Przysłali inny model", "Zły rozmiar i kolor"),
        "price": ("Pobrali opłatę dwa razy", "Wciąż brak zwrotu pieniędzy", "Ukryte opłaty"),
    },
    negative_sentences={
        "logistics": (
            "Moja paczka nigdy nie dotarła, a status przesyłki nie zmienił się od dziesięciu dni.",
            "Kurier oznaczył ją jako doręczoną, ale pod drzwiami nic nie było.",
            "Trzy tygodnie opóźnienia i nikt nie potrafi powiedzieć, gdzie jest moje zamówienie.",
            "Karton przyszedł zgnieciony, a zawartość paczki była uszkodzona.",
        ),
        "quality": (
            "Produkt zepsuł się po tygodniu normalnego użytkowania.",
            "Tandetne materiały, sprzęt zepsuł się niemal od razu.",
            "Szwy puściły przy pierwszym praniu, a materiał się mechaci.",
            "Wadliwy egzemplarz: ekran pękł po trzech dniach, jakość jest żenująca.",
        ),
        "service": (
            "Wysłałam cztery maile do obsługi i nie dostałam żadnej odpowiedzi.",
            "Konsultantka na infolinii była niemiła i się rozłączyła.",
            "Obsługa zamknęła moje zgłoszenie bez rozwiązania problemu.",
            "Sprzedawca zbywa mnie gotowymi formułkami i nikt za nic nie odpowiada.",
        ),
        "not_as_described": (
            "To, co przyszło, w ogóle nie przypomina zdjęć z ogłoszenia.",
            "Przysłali zły rozmiar i zupełnie inny kolor.",
            "Opis obiecywał funkcje, których ten produkt nie ma.",
            "Miała być prawdziwa skóra, a przyszła zwykła podróbka.",
        ),
        "price": (
            "Pobrali pieniądze dwa razy i wciąż czekam na zwrot.",
            "Dodatkowe opłaty pojawiły się dopiero na samym końcu płatności.",
            "Zwrot obiecany miesiąc temu do dziś nie wpłynął.",
            "Cena w koszyku nagle wzrosła, a obiecany rabat nie został naliczony.",
        ),
    },
    negative_closings=(
        "Nigdy więcej.",
        "Omijajcie ten sklep szerokim łukiem.",
        "Jestem bardzo rozczarowana.",
        "Nie polecam.",
    ),
    first_names=(
        "Anna",
        "Piotr",
        "Katarzyna",
        "Tomasz",
        "Magdalena",
        "Michał",
        "Agnieszka",
        "Krzysztof",
        "Zofia",
        "Jakub",
    ),
    last_initials="DKLMNSWZ",
    locations=("Warszawa, PL", "Kraków, PL", "Wrocław, PL", "Gdańsk, PL", "Poznań, PL"),
)

_TR = Phrasebook(
    positive_titles=("Harika hizmet", "Hızlı kargo", "Çok memnun kaldım", "Tekrar alırım", "Güvenilir mağaza"),
    positive_sentences=(
        "Paket bir gün erken geldi ve özenle paketlenmişti.",
        "Ürün açıklamadaki gibi, kalitesi de çok iyi.",
        "Müşteri hizmetleri bir saat içinde çok nazik bir şekilde yardımcı oldu.",
        "Sipariş vermek çok kolay, ödeme sorunsuz.",
        "Bu yıl ikinci siparişim, yine her şey yolunda gitti.",
        "Fiyatlar uygun, kargo da çok hızlı, teşekkürler!",
    ),
    neutral_titles=("Fena değil", "Ortalama", "İdare eder"),
    neutral_sentences=(
        "Teslimat biraz uzun sürdü ama ürün fena değil.",
        "Ürün idare eder, paketleme daha iyi olabilirdi.",
        "İşimi görüyor, gerçi site biraz yavaştı.",
    ),
    negative_titles={
        "logistics": ("Kargo hiç gelmedi", "Siparişimi hâlâ bekliyorum", "Paket kayboldu", "Kutu ezik geldi"),
        "quality": ("Bir haftada bozuldu", "Kalitesi berbat", "Çalışmayı bıraktı"),
        "service": ("Müşteri hizmetleri cevap vermiyor", "Kaba ve ilgisiz destek", "Şikayetime yanıt yok"),
        "not_as_described": ("Açıklamayla alakası yok", "Yanlış model gönderdiler", "Beden de renk de yanlış"),
        "price": ("Fazla ücret kesildi", "Hâlâ iade yapılmadı", "Gizli ücretler"),
    },
    negative_sentences={
        "logistics": (
            "Kargom hiç gelmedi, takip bilgisi on gündür değişmedi.",
            "Kurye teslim edildi diyor ama kapıda hiçbir şey yoktu.",
            "Kargo üç hafta gecikti ve paketin nerede olduğunu kimse bilmiyor.",
            "Kutu ezilmiş halde geldi, içindeki ürün hasarlıydı.",
        ),
        "quality": (
            "Ürün normal kullanımda bir hafta içinde bozuldu.",
            "Ucuz malzeme, neredeyse hemen çalışmayı bıraktı.",
            "Dikişler ilk kullanımda söküldü, kalitesi çok kötü.",
            "Arızalı çıktı, ekran üç gün sonra çatladı.",
        ),
        "service": (
            "Müşteri hizmetlerine dört e-posta attım, hiçbirine cevap vermediler.",
            "Müşteri temsilcisi çok kaba davrandı ve telefonu yüzüme kapattı.",
            "Destek ekibi şikayetimi hiçbir çözüm sunmadan kapattı.",
            "Hazır cevaplar, küçümseyici bir tavır, kimse sorumluluk almıyor.",
        ),
        "not_as_described": (
            "Ürün fotoğraflardakine hiç benzemiyor.",
            "Yanlış beden ve yanlış renk gönderdiler.",
            "Açıklamada yazan özelliklerin hiçbiri üründe yok.",
            "Hakiki deri diye satıyorlar ama resmen çakma bir model.",
        ),
        "price": (
            "Kartımdan iki kez ücret çekildi, paramı hâlâ iade etmediler.",
            "Ek ücretler ödeme sayfasının en sonunda ortaya çıktı.",
            "Bir ay önce söz verilen iade hâlâ yapılmadı.",
            "Sepette fiyat birden arttı, vaat edilen indirim de uygulanmadı.",
        ),
    },
    negative_closings=("Bir daha asla.", "Sakın almayın.", "Büyük hayal kırıklığı.", "Kesinlikle tavsiye etmem."),
    first_names=("Ayşe", "Mehmet", "Zeynep", "Emre", "Elif", "Burak", "Merve", "Mustafa", "Selin", "Can"),
    last_initials="ADKÇŞYÖ",
    locations=("İstanbul, TR", "Ankara, TR", "İzmir, TR", "Bursa, TR", "Antalya, TR"),
)

_JA = Phrasebook(
    positive_titles=("とても良いお店", "発送が早い", "大満足です", "また利用します", "おすすめのショップ"),
    positive_sentences=(
        "予定より一日早く届き、梱包も丁寧でした。",
        "説明どおりの商品で、品質もとても良いです。",
        "問い合わせに一時間以内で返信があり、助かりました。",
        "注文も支払いもスムーズでした。",
        "今年二回目の注文ですが、今回も安心して買い物できました。",
        "価格も手頃で、発送も早くて助かりました。",
    ),
    neutral_titles=("普通です", "まあまあ", "可もなく不可もなく"),
    neutral_sentences=(
        "配送が予定より少し遅れましたが、商品自体は普通に使えます。",
        "悪くない商品ですが、梱包はもう少し丁寧だと嬉しいです。",
        "使えますが、サイトの動作が重かったです。",
    ),
    negative_titles={
        "logistics": ("荷物が届かない", "注文した荷物がまだ来ない", "配送中に紛失", "箱がつぶれて到着"),
        "quality": ("一週間で壊れました", "品質が最悪", "すぐに動かなくなった"),
        "service": ("問い合わせても返信なし", "サポートの態度が最悪", "メールを無視される"),
        "not_as_described": ("商品説明と違う", "注文と違うモデルでした", "サイズも色も違う"),
        "price": ("二重に請求された", "返金がまだない", "隠れた手数料"),
    },
    negative_sentences={
        "logistics": (
            "荷物が届かず、追跡情報も十日間更新されていません。",
            "配達完了になっているのに、玄関には何もありませんでした。",
            "三週間も遅れているのに、荷物がどこにあるのか誰も分かりません。",
            "箱がつぶれた状態で届き、中身も破損していました。",
        ),
        "quality": (
            "普通に使っていたのに一週間で壊れました。",
            "安っぽい作りで、すぐに動かなくなりました。",
            "一回洗っただけで毛玉だらけになり、品質がひどいです。",
            "初期不良で、三日目には画面が割れてしまいました。",
        ),
        "service": (
            "サポートにメールを四回送りましたが、一度も返信がありません。",
            "電話に出たスタッフの態度が悪く、途中で切られました。",
            "サポートに問い合わせたのに、何も解決しないまま対応を打ち切られました。",
            "定型文の返事ばかりで、たらい回しにされました。",
        ),
        "not_as_described": (
            "実物は写真とまったく違います。",
            "サイズも色も注文したものと違う商品でした。",
            "商品説明に書いてある機能がついていません。",
            "本革と書いてあったのに、明らかに偽物です。",
        ),
        "price": (
            "二重に請求されたのに、まだ返金されていません。",
            "手数料が支払いの最後の画面で突然追加されました。",
            "一か月前に約束された返金がまだありません。",
            "カートに入れた後で価格が上がり、割引も適用されませんでした。",
        ),
    },
    negative_closings=("二度と買いません。", "本当にがっかりです。", "最悪です。", "お金の無駄でした。"),
    first_names=("Yuki", "Haruto", "Sakura", "Kenji", "Aoi", "Takeshi", "Yui", "Ren", "Misaki", "Daiki"),
    last_initials="IKMNSTWY",
    locations=("東京, JP", "大阪, JP", "名古屋, JP", "札幌, JP", "福岡, JP"),
)

MORE_PHRASEBOOKS: dict[str, Phrasebook] = {
    "ru": _RU,
    "zh": _ZH,
    "fr": _FR,
    "es": _ES,
    "it": _IT,
    "pl": _PL,
    "tr": _TR,
    "ja": _JA,
}
