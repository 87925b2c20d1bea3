"""Every pt-BR string the bot shows. Labels are the panel's words (DESIGN.md); keep them exact."""

from __future__ import annotations

# Main menu and navigation
CLIENTES = "Clientes"
NOVO_CLIENTE = "Novo cliente"
MEUS_DADOS = "Meus dados"
AJUDA = "Ajuda"
VOLTAR = "Voltar"
MENU = "Menu"
CANCELAR = "Cancelar"

# Client card and Gerenciar
GERENCIAR = "Gerenciar"
ACESSAR_SOFTWARE = "Acessar software do cliente"
RELATORIOS = "Relatórios e documentos"
XMLS_FORNECEDORES = "XMLs de fornecedores"
XMLS_EMITIDOS = "XMLs emitidos"
CONFIGURACOES = "Configurações"

# Novo cliente
ENVIAR_LINK = "Enviar link de contratação"
NOVO_CADASTRO = "Novo cadastro"
GESTOR = "Gestor"
CLIENTE = "Cliente"
PULAR = "Pular"
CADASTRAR = "Cadastrar"
ANTERIOR = "◀ Anterior"
PROXIMA = "Próxima ▶"
VER_TODOS = "Ver todos"
ABRIR_CLIENTE = "Abrir cliente"

MENU_TEXT = "O que você quer fazer?"
WELCOME = "Olá, {name}! Sou o RevendaBot: o painel do gestor aqui no chat."
MENU_HINT = "Use os botões. A qualquer momento: /menu volta ao início e /cancelar desiste."
EXPIRED = "Essa opção expirou (era de uma mensagem antiga). Aqui está o menu atual."
# A button of a message the flow has moved past: nothing changed, the live question follows.
EXPIRED_KEPT = (
    "Essa opção expirou (era de uma mensagem antiga); nada foi alterado. Você está aqui:"
)
USE_BUTTONS = "Para seguir, toque em um dos botões abaixo (ou envie /menu)."
# Where the choices show as a list (WhatsApp, over 3 choices), the words about buttons say how
# to open it instead; {list} is what the person taps (Capabilities.list_label). Longest first.
AS_LIST = (
    ("Use os botões.", "Toque em {list} para escolher."),
    ("toque em um dos botões abaixo", "toque em {list} e escolha"),
    ("tocar em um dos botões abaixo", "tocar em {list} e escolher"),
    ("use os botões abaixo", "toque em {list}"),
    ("use os botões", "toque em {list}"),
)
FILE_UNAVAILABLE = "Não consegui baixar o arquivo {name}, envie de novo."
NO_FILE_HERE = "Não esperava um arquivo agora. Para seguir, use os botões abaixo."
# A photo, voice note, sticker... (services.messages.MediaKind): no step takes one. In a
# flow the question follows ("{what}" is MEDIA_NAMES); at the menu, MEDIA_AT_MENU.
MEDIA_NAMES = {
    "image": "uma foto",
    "audio": "um áudio",
    "video": "um vídeo",
    "sticker": "uma figurinha",
    "location": "uma localização",
    "contact": "um contato",
    "reaction": "uma reação",
    "other": "uma mensagem desse tipo",
}
MEDIA_WANTS_TEXT = "Recebi {what}, mas aqui eu preciso do texto:"
MEDIA_WANTS_FILE = "Recebi {what}, mas aqui eu preciso de um arquivo, enviado como documento:"
MEDIA_WANTS_BUTTON = "Recebi {what}, mas aqui é só tocar em um dos botões abaixo."
MEDIA_AT_MENU = {
    "image": (
        "📷 Recebi sua foto. Para ler a chave de um DANFE ou DANFCE, toque em Consultar nota "
        "e envie a foto lá. Para o resto, digite ou use o menu abaixo (em Clientes você acha um "
        "cliente pelo nome ou pelo CNPJ)."
    ),
    "audio": "🎙️ Ainda não entendo áudio. Digite ou use os botões.",
    "video": "🎬 Ainda não assisto vídeos. Digite ou use os botões.",
    "sticker": "😄 Boa!",
    "location": (
        "📍 Recebi a localização, mas ela não é usada aqui. Para seguir, use o menu abaixo."
    ),
    "contact": (
        "👤 Recebi o contato, mas contatos compartilhados não são usados aqui. "
        "Para seguir, use o menu abaixo (em Clientes você acha um cliente pelo nome ou pelo CNPJ)."
    ),
    "other": "Recebi sua mensagem, mas não consigo ler esse tipo de conteúdo. "
    "Digite ou use os botões.",
}
CANCELLED = "Cancelado. Nada foi salvo."
NOTHING_TO_CANCEL = "Não havia nada em andamento."
OUT_OF_ORDER = (
    "Sua mensagem {what} chegou fora de ordem (foi enviada antes da anterior), então eu a "
    "ignorei. Se ainda vale, envie de novo:"
)
OUT_OF_ORDER_HIDDEN = "(a senha)"
OUT_OF_ORDER_CHOICE = "(um toque em botão)"
STALE_COMMAND = (
    "Ignorei o comando {command}: ele chegou com {minutes} minutos de atraso. "
    "Se ainda quiser, envie de novo."
)
UNKNOWN_COMMAND = "Não conheço o comando {command}. Os comandos são /menu, /cancelar e /ajuda."
COMING_SOON = "⏳ {feature} ainda não está disponível nesta versão do RevendaBot. Em breve!"

HELP = (
    "ℹ️ O RevendaBot é o painel do gestor dentro do chat.\n\n"
    "• Clientes: a lista e a busca dos seus clientes (digite parte do nome ou o CNPJ), "
    "o cartão de cada um e as ações de Gerenciar.\n"
    "• Novo cliente: cadastre um cliente aqui mesmo (Novo cadastro) "
    "ou envie um link de contratação.\n"
    "• Meus dados: dados da empresa, e-mails, senha, pagamento e faturas.\n\n"
    "Atalhos: em vez de tocar nos botões, escreva o que quer, do seu jeito:\n"
    "• xml padaria outubro — XMLs emitidos do mês\n"
    "• nfce padaria 10/2026 — já gera o ZIP das NFC-e\n"
    "• relatório padaria setembro — relatório ou DANFEs do mês\n"
    "• notas de fornecedores padaria\n"
    "• certificado padaria · chave padaria · contrato padaria · plano padaria\n"
    "• cliente 45.997.418 — o cartão do cliente, pelo nome ou CNPJ\n"
    "• novo cliente · link novo cliente · faturas · boleto\n"
    "Se faltar algo (o cliente, o mês), eu pergunto.\n\n"
    "Comandos:\n"
    "/menu — volta ao menu principal\n"
    "/cancelar — desiste do que estiver fazendo (nada é salvo)\n"
    "/ajuda — esta mensagem\n\n"
    "Suporte: {support}"
)

# Access
NO_ACCESS = (
    "Olá! Este é o RevendaBot, o painel de gestores e revendas do FazNota.\n\n"
    "Este chat ainda não tem acesso. Para entrar, peça um código de convite ao gestor da sua "
    "empresa (ou ao suporte) e envie aqui: /start SEU-CODIGO.\n"
    "Se você é o gestor e já definiu uma senha em Meus dados, envie /entrar.\n\n"
    "Suporte: {support}"
)
ALREADY_BOUND = "Este chat já tem acesso; o convite não foi usado."
INVITE_ACCEPTED = "✅ Acesso liberado para {gestor} como {role}."
ROLE_NAMES = {"gestor": "gestor", "contador": "contador"}

# Clientes
LIST_HEADER = "👥 Seus clientes ({total}) — página {page} de {pages}"
LIST_HEADER_SEARCH = "🔎 Clientes com “{query}” ({total}) — página {page} de {pages}"
LIST_LINE = "{n}. {name} — {doc} — {status}"
LIST_EMPTY = (
    "Você ainda não tem clientes. Toque em Novo cliente no menu para cadastrar o primeiro."
)
LIST_SEARCH_EMPTY = "Nenhum cliente com “{query}”. Digite outra parte do nome ou do CNPJ."
SEARCH_TOO_SHORT = "Digite pelo menos 2 letras ou números para buscar."
LIST_HINT = "Toque em um cliente para abrir, ou digite parte do nome ou do CNPJ para buscar."
CARD = (
    "🏢 {razao_social}\n"
    "{fantasia_line}"
    "{doc_label}: {doc}\n"
    "Software: {software}\n"
    "Plano: {plano} — {price}/mês\n"
    "Status: {status}\n"
    "Responsável pelo pagamento da mensalidade: {payer}\n"
    "E-mail (login): {email}\n"
    "Telefone: {telefone}\n"
    "Endereço: {endereco} — CEP {cep}\n"
    "Cliente desde: {created}{via}"
)
CARD_FANTASIA = "Nome fantasia: {fantasia}\n"
CARD_VIA_LINK = " (pelo link de contratação)"
GERENCIAR_TEXT = "⚙️ Gerenciar {name}: escolha uma ação."

# Novo cliente / Novo cadastro
NOVO_TEXT = "Como você quer adicionar o cliente?"
ASK_PAYER = (
    "Novo cadastro — 1/10\nQuem paga a mensalidade deste cliente?\n"
    "Quando o gestor paga, o preço é 50% do valor do plano."
)
ASK_SOFTWARE = "Novo cadastro — 2/10\nQual software o cliente vai usar?"
ASK_PLAN = "Novo cadastro — 3/10\nEscolha o plano do {software} (pagamento: {payer}):"
PLAN_LINE = "• {plan}: {price}/mês"
PLAN_LINE_GESTOR = "• {plan}: {price}/mês (tabela {list_price}, 50% para o gestor)"
PLAN_BUTTON = "{plan} — {price}"
ASK_DOC = "Novo cadastro — 4/10\nDigite o CPF ou o CNPJ do cliente (com ou sem pontuação)."
ASK_RAZAO = "Novo cadastro — 5/10\nDigite a razão social (ou o nome completo, se for CPF)."
ASK_FANTASIA = "Novo cadastro — 6/10\nDigite o nome fantasia, ou toque em Pular."
ASK_EMAIL = (
    "Novo cadastro — 7/10\nDigite o e-mail do cliente. Atenção: ele será o login do cliente "
    "no software."
)
OWN_EMAIL = (
    "{email} é um e-mail seu, de gestor. O e-mail do cadastro é o login do cliente no "
    "software: digite o e-mail do próprio cliente."
)
ASK_PHONE = (
    "Novo cadastro — 8/10\nDigite o telefone do cliente com DDD, por exemplo (11) 98765-4321."
)
ASK_CEP = "Novo cadastro — 9/10\nDigite o CEP do cliente, por exemplo 01310-100."
ASK_ADDRESS = (
    "Novo cadastro — 10/10\nDigite o endereço em uma linha, terminando com cidade/UF:\n"
    "Rua das Flores, 123 - Centro - São Paulo/SP"
)
SUMMARY = (
    "Confira o cadastro:\n\n"
    "Responsável pelo pagamento da mensalidade: {payer}\n"
    "Software: {software}\n"
    "Plano: {plano} — {price}/mês\n"
    "{doc_label}: {doc}\n"
    "Razão social: {razao}\n"
    "Nome fantasia: {fantasia}\n"
    "E-mail (login): {email}\n"
    "Telefone: {telefone}\n"
    "CEP: {cep}\n"
    "Endereço: {endereco}\n\n"
    "Está tudo certo? Toque em Cadastrar. O cliente começa com status Teste."
)
NOT_INFORMED = "(não informado)"
REGISTERED = "✅ Cliente {name} cadastrado com status Teste."
INVALID_PREFIX = "⚠️ {message}"
PLAN_GONE = "Esse plano não está mais disponível. Escolha outro."

# Integration key shown once, at registration
NEW_KEY = (
    "🔑 Chave de integração do cliente (aparece só agora: copie e configure no software do "
    "cliente):\n{key}"
)
ABRIR_CARTAO = "Abrir cliente"


# --- Configurações, Acessar software do cliente, Histórico ---
CERTIFICADO_DIGITAL = "Certificado digital"
CHAVE_INTEGRACAO = "Chave de integração"
CONTRATO = "Contrato"
SOFTWARE = "Software"
ENVIAR_CERTIFICADO = "Enviar certificado"
GERAR_NOVA_CHAVE = "Gerar nova chave"
CONFIRMAR = "Confirmar"
SALVAR = "Salvar"
PLANO = "Plano"
SALVAR_SOFTWARE = "Salvar software"
TROCAR_SOFTWARE = "Trocar software"
HISTORICO = "Histórico"
STATUS_LABELS = {
    "efetivado": "Efetivado",
    "teste": "Teste",
    "bloqueado": "Bloqueado",
    "cancelado": "Cancelado",
}
CONFIG_TEXT = "⚙️ Configurações de {name}: escolha o que ver ou mudar."
CERT_VALID = (
    "✅ Parabéns! O certificado digital está válido até {until}.\n"
    "Titular: {holder}\nCNPJ: {doc}\nEnviado em {uploaded}."
)
CERT_EXPIRING = (
    "⚠️ O certificado digital vence em {days} (em {until}). Peça o certificado novo ao cliente "
    "e envie aqui antes disso, para as notas não pararem.\nTitular: {holder}\nCNPJ: {doc}"
)
CERT_EXPIRING_DAYS = {0: "hoje", 1: "1 dia"}
CERT_EXPIRING_N = "{n} dias"
CERT_EXPIRED = (
    "❌ O certificado digital venceu em {until}. Sem certificado válido o cliente não emite "
    "notas. Peça o certificado renovado ao cliente e toque em Enviar certificado.\n"
    "Titular: {holder}\nCNPJ: {doc}"
)
CERT_MISSING = (
    "Este cliente ainda não tem certificado digital. Ele é necessário para emitir NF-e e "
    "NFC-e: é o arquivo A1 (.pfx ou .p12) com a senha. Toque em Enviar certificado."
)
ASK_CERT_FILE = (
    "Envie o arquivo do certificado A1 (.pfx ou .p12, até {limit} KB) como documento, "
    "aqui no chat. Depois eu peço a senha."
)
CERT_FILE_EXPECTED = "Envie o arquivo .pfx (ou .p12) como documento, não como texto."
# Text typed where the file was expected may be the certificate's password.
CERT_TEXT_INSTEAD_OF_FILE = (
    "🔒 Não consegui apagar a sua mensagem daqui. Se ela tinha a senha do certificado, apague a "
    "mensagem com a senha: toque nela e segure, depois escolha Apagar."
)
CERT_TOO_BIG_TO_FETCH = (
    "O arquivo {name} é grande demais para ser um certificado A1. Envie o arquivo .pfx "
    "(ou .p12) do certificado, que costuma ter poucos KB."
)
CERT_PROMPT_DELETES = (
    "🔒 Arquivo {name} recebido. Agora digite a senha do certificado.\n"
    "Assim que eu ler, apago a sua mensagem com a senha deste chat."
)
CERT_PROMPT_WARNS = (
    "🔒 Arquivo {name} recebido. Agora digite a senha do certificado.\n"
    "Atenção: neste canal não consigo apagar mensagens, então a senha ficará visível na "
    "conversa. Se preferir, apague-a você mesmo depois de enviar."
)
CERT_TRIES = "Tentativa {n} de {max}."
CERT_TOO_MANY_TRIES = (
    "⚠️ A senha não abriu o certificado em {max} tentativas. Confira a senha com o cliente e "
    "envie o certificado de novo."
)
CERT_SAVED = "✅ Certificado salvo: {holder}, válido até {until}."
CHAVE_TEXT = (
    "🔑 Chave de integração de {name}\n"
    "Chave atual: {prefix}… (criada em {created})\n\n"
    "Por segurança, a chave inteira só aparece quando é gerada."
)
CHAVE_NONE = "🔑 {name} ainda não tem chave de integração ativa. Toque em Gerar nova chave."
CHAVE_CONFIRM = (
    "⚠️ Ao gerar uma nova chave, a atual para de funcionar na hora: a integração do cliente "
    "fica parada até o software dele ser configurado com a nova chave.\n\n"
    "Quer mesmo gerar uma nova chave para {name}?"
)
CHAVE_NEW = (
    "🔑 Nova chave de integração de {name} (aparece só agora: copie e configure no software "
    "do cliente; a anterior já não funciona):\n{key}"
)
CONTRATO_TEXT = (
    "📄 Contrato de {name}\n"
    "Status: {status}\n"
    "Responsável pelo pagamento da mensalidade: {payer}\n\n"
    "Escolha o novo status ou quem paga. Nada muda até você tocar em Salvar."
)
CONTRATO_PENDING = "\n\nMudanças ainda não salvas:\n{changes}"
CONTRATO_CHANGE = "• {field}: {before} → {after}"
CONTRATO_STATUS_FIELD = "Status"
CONTRATO_PAYER_FIELD = "Responsável pelo pagamento da mensalidade"
CONTRATO_CUT_WARNING = (
    "\n⚠️ Com o status {status}, a chave de integração do cliente passa a ser recusada e o "
    "acesso ao software fica suspenso até voltar a Efetivado."
)
CONTRATO_SAVED = "✅ Contrato salvo.\n{changes}"
CONTRATO_NO_CHANGE = "Nada mudou: escolha um status ou um responsável diferente antes de salvar."
SOFTWARE_TEXT = "💻 Software de {name}\nSoftware: {software}\nPlano: {plan} — {price}"
SOFTWARE_GESTOR_NOTE = " (tabela {list_price}, 50% para o gestor)"
SOFTWARE_PENDING = (
    "\n\nNovo plano escolhido (ainda não salvo): {software} — {plan} — {price}/mês.\n"
    "Toque em Salvar software para confirmar; a próxima fatura já usa o novo plano."
)
SOFTWARE_HINT = "\n\nToque em Plano para ver os planos disponíveis."
ASK_SOFTWARE_PLAN = "Planos do {software} (pagamento: {payer}):"
ASK_OTHER_SOFTWARE = "Para qual software o cliente vai mudar?"
SOFTWARE_SAVED = (
    "✅ Software salvo: {software} — {plan} — {price}/mês. A próxima fatura usa este plano."
)
ACESSO_TEXT = (
    "🔗 Link de acesso ao {software} como {name}.\n"
    "Vale por 5 minutos (até {until}) e entra uma vez só. Para entrar de novo, toque outra vez "
    "em Acessar software do cliente."
)
ACESSO_ABRIR = "Abrir o {software}"
HISTORICO_TEXT = "🕓 Histórico de {name} — página {page} de {pages}"
HISTORICO_EMPTY = "🕓 Histórico de {name}: nenhuma alteração registrada ainda."
HISTORICO_LINE = "{when} — {who}\n{what}{details}"
HISTORICO_ACTIONS = {
    "client.register": "Cliente cadastrado",
    "contract.update": "Contrato alterado",
    "software.update": "Software/plano alterado",
    "certificate.upload": "Certificado digital enviado",
    "integration_key.regenerate": "Nova chave de integração gerada",
    "software.access": "Acesso ao software do cliente",
    "pacote.enviado": "Pacote do mês enviado ao contador",
    "client.pacote_mensal": "Pacote mensal alterado",
}
HISTORICO_FIELDS = {
    "status": "Status",
    "pagador": "Pagador",
    "software": "Software",
    "plano": "Plano",
    "prefix": "Chave",
    "validade": "Validade",
    "titular": "Titular",
    "documento": "CNPJ",
    "competencia": "Competência",
    "para": "Para",
    "via": "Envio",
    "bytes": "Tamanho (bytes)",
    "sha256": "SHA-256",
    "pacote_mensal": "Pacote mensal",
}


# --- Meus dados (Básicos, E-mails, Senha, Pagamento), faturas, boletos, /entrar ---
BASICOS = "Básicos"
EMAILS = "E-mails"
SENHA = "Senha"
PAGAMENTO = "Pagamento"
DADOS_SALVAR = "Salvar"
DADOS_DESCARTAR = "Descartar alterações"
ADICIONAR = "Adicionar"
REMOVER = "Remover"
REMOVER_EMAIL = "Remover {email}"
CONFIRMAR_ALTERACAO = "Confirmar alteração"
BOLETO_BANCARIO = "Boleto bancário"
CARTAO_CREDITO = "Cartão de crédito"
MINHAS_FATURAS = "Minhas faturas"
GERAR_BOLETO = "Gerar boleto"
PUSH_CERT_REPLACED = (
    "O certificado de {name} já foi trocado (o atual vale até {until}): esse lembrete não vale "
    "mais."
)
PUSH_FATURA_SETTLED = "A fatura de {competencia} não está mais em aberto: não há boleto a gerar."
VER_ITENS = "Ver itens"
BASIC_LABELS = {
    "razao_social": "Razão social",
    "nome_fantasia": "Nome fantasia",
    "cnpj": "CNPJ",
    "telefone": "Telefone",
    "endereco": "Endereço",
}
DADOS_TEXT = "👤 Meus dados — {name}\nEscolha o que ver ou alterar."
DADOS_TEXT_CONTADOR = (
    "👤 Meus dados — {name}\nVocê pode ver os dados da empresa e os e-mails. Senha, pagamento e "
    "alterações são só para o gestor."
)
BASICOS_TEXT = (
    "🏢 Dados da empresa\n\n"
    "Razão social: {razao_social}\n"
    "Nome fantasia: {nome_fantasia}\n"
    "CNPJ: {cnpj}\n"
    "Telefone: {telefone}\n"
    "Endereço: {endereco}"
)
BASICOS_HINT = "Toque no dado que quer alterar. Nada muda até você tocar em Salvar."
BASICOS_PENDING = "\n\n✏️ Alterações ainda não salvas:\n{changes}\n\nToque em Salvar para gravar."
BASICOS_PENDING_LINE = "• {label}: {before} → {after}"
BASICOS_READ_ONLY = "Somente o gestor pode alterar estes dados."
ASK_BASIC = {
    "razao_social": "Digite a nova razão social.",
    "nome_fantasia": "Digite o novo nome fantasia.",
    "cnpj": "Digite o novo CNPJ (com ou sem pontuação).",
    "telefone": "Digite o novo telefone com DDD, por exemplo (11) 98765-4321.",
    "endereco": (
        "Digite o novo endereço em uma linha, terminando com cidade/UF:\n"
        "Rua das Flores, 123 - Centro - São Paulo/SP"
    ),
}
ASK_BASIC_CURRENT = "{question}\n(Atual: {current})"
BASICOS_SAVED = "✅ Dados da empresa salvos."
BASICOS_NOTHING = "Nada foi alterado."
BASICOS_DISCARDED = "Alterações descartadas. Nada foi salvo."
EMAILS_TEXT = (
    "📧 E-mails vinculados ({count})\n{lines}\n\n"
    "Estes e-mails entram no /entrar e vinculam clientes: quem digitar um deles como e-mail do "
    "contador fica ligado a você."
)
EMAILS_HINT = "Toque em Adicionar, ou em um e-mail para removê-lo."
EMAIL_LINE = "• {email}"
ASK_NEW_EMAIL = "Digite o e-mail que quer vincular, por exemplo contato@escritorio.com.br."
EMAIL_ADDED = "✅ {email} vinculado."
CONFIRM_REMOVE_EMAIL = (
    "Remover {email}? Clientes que digitarem este e-mail como o do contador deixam de ser "
    "ligados a você, e ele não servirá mais no /entrar."
)
EMAIL_REMOVED = "🗑️ {email} removido."
SENHA_TEXT = (
    "🔒 Senha\nA senha permite vincular um novo chat ou aparelho sem convite: envie /entrar nele, "
    "depois o seu e-mail e a senha.\nSituação: {status}.\n\n"
    "Regras: pelo menos 10 caracteres, com letras e números, sem o CNPJ e sem os seus e-mails."
)
SENHA_SET = "senha definida"
SENHA_UNSET = "nenhuma senha definida ainda"
ASK_NOVA_SENHA = "Digite a nova senha."
ASK_REPETIR_SENHA = "Digite a nova senha mais uma vez, para conferir."
SENHA_APAGADA_NOTE = "(Apago a sua mensagem do chat logo depois de ler.)"
SENHA_FICA_NO_CHAT = (
    "⚠️ Neste canal eu não consigo apagar mensagens: a senha digitada ficará no histórico do "
    "chat. Se preferir, defina a senha pelo Telegram, ou apague a mensagem você mesmo depois."
)
# Said at once after a password was typed where this chat cannot delete it (or deletion failed).
APAGUE_A_SENHA = (
    "🔒 Não consegui apagar a sua mensagem daqui. Por segurança, apague a mensagem com a senha: "
    "toque nela e segure, depois escolha Apagar."
)
CONFIRMAR_SENHA_TEXT = (
    "As duas senhas conferem. Toque em Confirmar alteração para gravar a nova senha."
)
SENHA_ALTERADA = "✅ Senha alterada. Use-a com /entrar para vincular um novo chat."
PAGAMENTO_TEXT = (
    "💳 Pagamento\nForma de pagamento das faturas: {method}.\n\n"
    "Escolha a forma de pagamento ou veja as suas faturas."
)
PAYMENT_METHODS = {"boleto": "Boleto bancário", "cartao": "Cartão de crédito"}
PAYMENT_SET = "✅ Forma de pagamento: {method}."
CARD_NOT_CONFIGURED = (
    "💳 O pagamento por cartão de crédito ainda não está configurado neste RevendaBot. "
    "Continue pagando por boleto; fale com o suporte ({support}) se precisar do cartão."
)
CARD_CHECKOUT = "Cadastre o seu cartão na página segura do provedor de pagamento:"
CARD_CHECKOUT_BUTTON = "Cadastrar cartão"
BILLING_NOT_CONFIGURED = "A cobrança não está configurada neste RevendaBot. Fale com o suporte."
FATURAS_TEXT = "🧾 Minhas faturas\n\n{lines}\n\nToque em uma fatura para ver os detalhes."
FATURAS_EMPTY = (
    "🧾 Você ainda não tem faturas. A fatura do mês fecha no início do mês seguinte, com os "
    "clientes Efetivados cuja mensalidade você paga."
)
FATURA_LINE = "• {competencia} — {total} — vence {due} — {status}"
FATURA_BUTTON = "{competencia} — {total}"
FATURA_STATUS = {"pendente": "pendente", "paga": "paga", "vencida": "vencida"}
FATURA_TEXT = (
    "🧾 Fatura {competencia}\n"
    "Situação: {status}\n"
    "Total: {total}\n"
    "Vencimento: {due}\n"
    "Clientes cobrados: {lines}"
)
FATURA_PAID_ON = "\nPaga em {paid}."
FATURA_NOSSO_NUMERO = "\nNosso número: {nosso}"
FATURA_ITEMS = "🧾 Itens da fatura {competencia} ({count})\n\n{lines}\n\nTotal: {total}"
FATURA_ITEM_LINE = "• {name} ({doc}) — {software} {plano}: {amount} (50% de {list_price})"
FATURA_ITEMS_MORE = "… e mais {count} itens."
BOLETO_CAPTION = "Boleto da fatura {competencia} — {total}, vence em {due}."
BOLETO_CAPTION_UNREGISTERED = (
    "⚠️ Boleto NÃO REGISTRADO em banco: o banco pode recusar o código de barras. Prefira o PIX."
)
BOLETO_CODES = "Linha digitável:\n{linha}\n\nPIX copia e cola:\n{pix}"
# /entrar (a chat without access binds itself with the gestor's e-mail and password)
ENTRAR_ASK_EMAIL = (
    "🔑 Entrar com e-mail e senha.\nDigite o e-mail do gestor (um dos e-mails vinculados em "
    "Meus dados). Para desistir, envie /cancelar."
)
ENTRAR_ASK_SENHA = "Agora digite a senha."
ENTRAR_OK = "✅ Este chat agora tem acesso a {gestor} como gestor."
ENTRAR_ALREADY = "Este chat já tem acesso a {gestor}. Use /menu para começar."
ENTRAR_CANCELLED = "Entrada cancelada."
ENTRAR_PAUSED = "Muitas tentativas com senha errada neste chat. Tente de novo depois das {time}."
LOGIN_LOCKED_NOTICE = (
    "🚨 Alguém errou a senha de acesso da sua conta 5 vezes (pelo canal {channel}). O acesso por "
    "senha ficou bloqueado por 15 minutos. Se não foi você, troque a senha em Meus dados › Senha."
)
LOGIN_NEW_CHAT_NOTICE = (
    "🔔 Um novo chat ({channel}{name}) entrou na sua conta com e-mail e senha. Se não foi você, "
    "troque a senha em Meus dados › Senha e fale com o suporte."
)
FATURA_PAID_NOTICE = "✅ Recebemos o pagamento da fatura {competencia} ({total}). Obrigado!"
FATURA_CREATED_NOTICE = (
    "🧾 A fatura {competencia} fechou: {total}, vence em {due}. Veja em Meus dados › Pagamento › "
    "Minhas faturas."
)

# --- Enviar link de contratação, Links enviados, sign-up notices ---
LINKS_ENVIADOS = "Links enviados"
LINK_ASK_PAYER = (
    "🔗 Link de contratação — 1/3\nO cliente abre o link, preenche o cadastro e já entra na sua "
    "lista com status Teste.\n\nQuem paga a mensalidade deste cliente? Quando o gestor paga, o "
    "preço é 50% do valor do plano. Na dúvida, escolha Cliente."
)
LINK_ASK_SOFTWARE = "🔗 Link de contratação — 2/3\nQual software o cliente vai contratar?"
LINK_ASK_PLAN = "🔗 Link de contratação — 3/3\nEscolha o plano do {software} (pagamento: {payer}):"
LINK_CREATED = (
    "✅ Link de contratação criado: {software}, plano {plan} — {price}/mês "
    "(pagamento: {payer}).\nVale para um único cadastro, até {expires}.\n\n{url}"
)
LINK_FORWARD = (
    "Olá! {gestor} convida você a contratar o {software} ({offer}). Faça o seu cadastro por "
    "este link, válido até {expires}:\n{url}"
)
LINK_OFFER_CLIENTE = "plano {plan}, {price}/mês"
LINK_OFFER_GESTOR = "plano {plan}, mensalidade paga por {gestor}"
LINK_SEND_HOW = (
    "Encaminhe a mensagem acima ao cliente, ou envie o link por um dos botões. Acompanhe em "
    "Links enviados: você recebe um aviso aqui quando o cliente concluir o cadastro."
)
LINK_SHARE_TELEGRAM = "Compartilhar no Telegram"
LINK_SHARE_WHATSAPP = "Enviar pelo WhatsApp"
LINK_SEND_EMAIL = "Enviar por e-mail"
LINK_SEND_SMS = "Enviar por SMS"
LINK_EMAIL_NOT_CONFIGURED = (
    "O envio por e-mail não está configurado neste RevendaBot (falta o servidor SMTP). "
    "Encaminhe a mensagem acima ou use o WhatsApp ou o Telegram."
)
LINK_SMS_NOT_CONFIGURED = (
    "O envio por SMS não está configurado neste RevendaBot. "
    "Encaminhe a mensagem acima ou use o WhatsApp ou o Telegram."
)
LINK_ASK_EMAIL = "Digite o e-mail do cliente para onde envio o link."
LINK_ASK_SMS = "Digite o celular do cliente com DDD, por exemplo (11) 98765-4321."
LINK_EMAIL_SUBJECT = "Seu link de cadastro no {software}"
LINK_EMAIL_BODY = (
    "{forward}\n\nO e-mail que você informar no cadastro será o seu login no software.\n"
    "Se você não esperava esta mensagem, pode ignorá-la."
)
LINK_SMS_TEXT = "{gestor}: faça seu cadastro no {software} por este link: {url}"
LINK_EMAIL_SENT = "📧 Link a caminho do e-mail {email} (envio em instantes)."
LINK_SMS_SENT = "📱 Link enviado por SMS para {phone}."
LINKS_HEADER = "🔗 Seus links de contratação mais recentes ({count}):"
LINKS_LINE = "{n}. {software} {plan} — {state} — criado em {created}{extra}"
LINKS_LINE_PENDING = ", vence em {expires}"
LINKS_LINE_CLIENT = ": {client}"
LINKS_HINT = "Toque em um link para ver os detalhes ou cancelar."
LINKS_EMPTY = "Você ainda não enviou links de contratação."
LINK_BUTTON = "{n}. {software} {plan} — {state}"
LINK_DETAIL = (
    "🔗 Link de contratação\n"
    "Software: {software}\n"
    "Plano: {plan} — {price}/mês\n"
    "Pagamento: {payer}\n"
    "Situação: {state}\n"
    "Criado em: {created}\n"
    "Validade: {expires}{client}"
)
LINK_DETAIL_CLIENT = "\nCliente: {client}"
LINK_CANCEL = "Cancelar link"
LINK_CANCELLED = "🚫 Link cancelado. Quem abrir esse link verá que ele foi cancelado."
LINK_COMPLETED_NOTICE = "🎉 Novo cliente pelo link de contratação!\n\n{card}"
SIGNUP_LINKED_NOTICE = (
    "🎉 Novo cliente pelo cadastro do site: ele informou o seu e-mail como e-mail do "
    "contador.\n\n{card}"
)


# --- XMLs emitidos, XMLs de fornecedores, Relatórios e documentos ---
MES_ANTERIOR = "Mês anterior"
MES_ATUAL = "Mês atual"
NFE = "NF-e"
NFCE = "NFC-e"
PENDENTES = "Pendentes"
RECONHECIDAS = "Reconhecidas"
BUSCAR_MAIS_NOTAS = "Buscar mais notas"
RECONHECER = "Reconhecer"
BAIXAR_XML = "Baixar XML"
BAIXAR_ZIP = "Baixar ZIP das notas"
RELATORIO_CSV = "Relatório PDF + CSV"
RELATORIO_XLSX = "Relatório PDF + XLSX"
DANFES_DO_MES = "DANFEs do mês"
MESES = (
    "Janeiro", "Fevereiro", "Março", "Abril", "Maio", "Junho",
    "Julho", "Agosto", "Setembro", "Outubro", "Novembro", "Dezembro",
)  # fmt: skip
MES_ANO = "{mes:02d}/{ano}"
ASK_MONTH = (
    "{icon} {feature} de {name}\nDe qual mês?\n• Mês anterior: {anterior}\n• Mês atual: {atual}\n"
    "Para outro mês, toque em Outro mês ou digite o mês (ex.: {exemplo})."
)
# Outro mês: the years, then the months, in which the client has emitted notes.
OUTRO_MES = "Outro mês"
MESES_CURTOS = ("Jan", "Fev", "Mar", "Abr", "Mai", "Jun", "Jul", "Ago", "Set", "Out", "Nov", "Dez")
MES_CONTAGEM = "{mes} ({notas})"
ASK_OTHER_YEAR = "{icon} {feature} de {name}\nDe qual ano? (só os anos com notas emitidas)"
ASK_OTHER_MONTH = (
    "{icon} {feature} de {name} — {ano}\nDe qual mês? Entre parênteses, quantas notas "
    "emitidas (NF-e e NFC-e) o mês tem."
)
NO_EMITTED_NOTES = "{name} ainda não tem notas emitidas guardadas aqui."
MONTH_NOT_UNDERSTOOD = "Não entendi o mês. Toque em um botão ou digite assim: {exemplo} ou {nome}."
MONTH_IN_FUTURE = (
    "{mes} ainda não chegou. Toque em um botão ou digite um mês até {atual}, assim: {exemplo} "
    "ou {nome}."
)
ASK_MODEL = "{icon} {feature} de {name} — {mes}\nQual tipo de nota?"
EMITIDOS_EMPTY = "Nenhuma {modelo} emitida por {name} em {mes}. Escolha o outro tipo ou volte."
# Templates with counts are rendered with `domain.text.fill`: `{n:nota|notas}` writes "1 nota",
# "2 notas", "5.000 notas"; `{n:n}` writes the number alone ("5.000").
GENERATING_ZIP = (
    "⏳ Gerando o ZIP com {notas:n} {modelo} de {mes}… Envio aqui assim que ficar pronto."
)
ZIP_TITLE_EMITIDOS = "XMLs emitidos de {name} — {modelo} {mes}"
ZIP_CAPTION = "📦 {titulo}: {notas:nota|notas} e {eventos:evento|eventos} de cancelamento."
ZIP_PART = "Parte {n:n} de {total:n}: o arquivo passou do limite de envio deste canal."
EXPORT_EMPTY = "Nenhuma nota encontrada para {titulo}."
# A running job edits its "Gerando…" message with these, then with its last words.
EXPORT_PROGRESS = "⏳ Gerando… {feito:n} de {total:nota|notas}"
DANFE_PROGRESS = "⏳ Gerando… {feito:n} de {total:DANFE|DANFEs}"
REPORT_PROGRESS = "⏳ Gerando o relatório… {feito:n} de {total:nota lida|notas lidas}"
EXPORT_FINISHED = "✅ Pronto: enviado em {partes:parte|partes}."
REPORT_FINISHED = "✅ Pronto: relatório enviado."
EXPORT_FAILED = (
    "⚠️ Não consegui gerar o arquivo. Tente de novo; se persistir, informe ao suporte a "
    "referência {ref}."
)
REPORT_CAPTION = (
    "📊 Relatório — {titulo}. O valor total é a soma do vNF (valor total da nota) das notas "
    "autorizadas."
)
TABLE_CAPTION = "📋 As mesmas notas em planilha — {titulo}."
CHART_CAPTION = (
    "📈 {titulo}: {valor} em notas autorizadas (soma do vNF). Em cima, o valor por dia; "
    "embaixo, por CFOP (soma do vProd dos itens). O relatório completo vem a seguir."
)
DANFE_CAPTION = "🧾 DANFEs — {titulo}: {notas:PDF|PDFs} (as canceladas levam a marca CANCELADA)."
DANFE_SKIPPED = (
    "⚠️ {n:nota não pôde ser impressa|notas não puderam ser impressas} (o XML não tem os "
    "campos que a impressão exige):\n{notas}"
)
FORNECEDORES_TEXT = (
    "📥 XMLs de fornecedores de {name}\nPendentes: {pendentes:n}\nReconhecidas: {reconhecidas:n}"
    "{canceladas}\n\n"
    "Pendentes são as notas que o cliente ainda não reconheceu. Toque para ver a lista, ou em "
    "Buscar mais notas para escolher um mês."
)
# A note the issuer cancelled is no longer pending: listed with its mark, never counted as such.
FORN_CANCELADAS = "\n❌ Canceladas pelo emitente (nada a reconhecer): {n:n}"
FORN_TITLE = {
    "p": "notas pendentes",
    "r": "notas reconhecidas",
    "m": "notas de {mes}",
}
FORN_LIST_HEADER = "📥 {name}: {what} ({total:n}{canceladas}) — página {page:n} de {pages:n}"
FORN_LIST_CANCELADAS = ", mais {n:cancelada|canceladas}"
FORN_LIST_EMPTY = "📥 {name}: nenhuma nota de fornecedor ({what})."
FORN_LINE = "{n}. {emitente} — nº {numero} — {data} — {valor}"
FORN_LINE_CANCELADA = " — ❌ cancelada"
FORN_BUTTON = "nº {numero} — {emitente}"
FORN_BUTTON_CANCELADA = "❌ nº {numero} — {emitente}"
FORN_LIST_HINT = "Toque em uma nota para ver, reconhecer ou baixar o XML."
FORN_NOTE = (
    "📄 Nota de fornecedor\nEmitente: {emitente} ({doc})\nNúmero: {numero} (série {serie})\n"
    "Emissão: {data}\nValor (vNF): {valor}\nSituação: {situacao}\nChave: {chave}\n{status}"
)
FORN_PENDENTE = "Status: Pendente (ainda não reconhecida)."
FORN_RECONHECIDA = "Status: Reconhecida em {quando} por {quem}."
FORN_CANCELADA = "Status: ❌ cancelada pelo emitente{quando}: não há o que reconhecer."
FORN_CANCELADA_EM = " em {data}"
FORN_CANCELADA_DEPOIS = "\n❌ cancelada pelo emitente{quando}."
FORN_VOCE = "você"
RECONHECIDA_OK = "✅ Nota nº {numero} de {emitente} reconhecida."
ASK_YEAR = "🔎 Buscar mais notas de {name}: de qual ano?"
ASK_MONTH_OF_YEAR = "🔎 Buscar mais notas de {name} em {ano}: de qual mês?"
FORN_ZIP_TITLE = "XMLs de fornecedores de {name} — {what}"
GENERATING_FORN_ZIP = "⏳ Gerando o ZIP com {total:nota|notas}… Envio aqui assim que ficar pronto."
RELATORIOS_FEATURE = "Relatórios e documentos"
ASK_REPORT_KIND = (
    "📊 {name} — {modelo} {mes}: {total:nota|notas} ({detalhe}).\n"
    "Valor total das autorizadas (soma do vNF): {valor}\n\nO que você quer receber?"
)
REPORT_DETAIL = "{situacao}: {n:n}"
REPORT_EMPTY = "Nenhuma {modelo} de {name} em {mes}. Escolha o outro tipo ou volte."
REPORT_TITLE = "{name} — {modelo} {mes}"
GENERATING_REPORT = "⏳ Gerando o relatório de {mes}… Envio aqui assim que ficar pronto."
GENERATING_DANFES = (
    "⏳ Gerando {notas:DANFE|DANFEs} de {mes}… Pode levar alguns minutos; envio aqui quando "
    "ficar pronto."
)

# -- Reminders and Avisos ------------------------------------------------------------
ENVIAR_CERTIFICADO_DE = "Enviar certificado: {name}"
CERT_REMINDER = (
    "🔐 O certificado digital de {name} {when} ({until}). Sem ele a emissão de NF-e/NFC-e para."
)
CERT_REMINDER_CONTADOR = "{text}\n\nO gestor do escritório pode enviar o novo certificado."
CERT_DIGEST = "🔐 {count} certificados digitais pedem atenção:\n\n{lines}"
CERT_DIGEST_LINE = "• {name}: {when} ({until})"
CERT_DIGEST_HINT = "Envie cada novo certificado em Clientes › Gerenciar › Configurações."
FATURA_DUE_NOTICE = "🧾 A fatura {competencia} ({total}) vence em {due}."
FATURA_OVERDUE_NOTICE = (
    "⚠️ A fatura {competencia} ({total}) venceu em {due} e ainda não consta como paga. Veja em "
    "Meus dados › Pagamento › Minhas faturas."
)
LINK_IDLE_NOTICE = (
    "🔗 Um link de contratação ({software}, {plan}) foi aberto em {opened}, mas o cadastro não "
    "foi concluído. Vale falar com o cliente."
)
AVISOS = "Avisos"
AVISOS_TEXT = (
    "🔔 Avisos automáticos deste escritório (valem para todos os chats):\n\n{lines}\n\n"
    "Toque num aviso para ligar ou desligar."
)
AVISOS_TEXT_CONTADOR = "🔔 Avisos automáticos deste escritório:\n\n{lines}"
AVISO_LINE = "{mark} {label}"
AVISO_ON = "🔔"
AVISO_OFF = "🔕"
AVISO_LABELS = {
    "certificados": "Certificados vencendo",
    "faturas": "Faturas a vencer e vencidas",
    "links": "Links abertos e não concluídos",
    "pendencias": "Resumo diário de pendências",
    "fornecedores": "Notas novas de fornecedores (SEFAZ)",
    "pacote": "Pacotes do mês prontos",
}
AVISO_TOGGLE_OFF = "Desligar: {label}"
AVISO_TOGGLE_ON = "Ligar: {label}"
AVISO_MUTED = "🔕 {label}: desligado."
AVISO_UNMUTED = "🔔 {label}: ligado."


# --- Typed shortcuts (handlers/shortcuts.py) ---
# What a shortcut opens, said in one line before the screen it lands on.
SHORTCUT_LINES = {
    "emitidos": "📦 XMLs emitidos de {name}",
    "relatorios": "📊 Relatórios e documentos de {name}",
    "fornecedores": "📥 XMLs de fornecedores de {name}",
    "configuracoes": "⚙️ Configurações de {name}",
    "certificado": "🔐 Certificado digital de {name}",
    "enviar_certificado": "🔐 Enviar certificado de {name}",
    "chave": "🔑 Chave de integração de {name}",
    "contrato": "📄 Contrato de {name}",
    "software": "💻 Software de {name}",
    "acesso": "🔗 Acessar software do cliente: {name}",
    "gerenciar": "⚙️ Gerenciar {name}",
    "historico": "🕓 Histórico de {name}",
    "cliente": "🏢 {name}",
}
# The same, before the client is known; and the actions that need no client.
SHORTCUT_FEATURES = {
    "emitidos": "📦 XMLs emitidos",
    "relatorios": "📊 Relatórios e documentos",
    "fornecedores": "📥 XMLs de fornecedores",
    "configuracoes": "⚙️ Configurações",
    "certificado": "🔐 Certificado digital",
    "enviar_certificado": "🔐 Enviar certificado",
    "chave": "🔑 Chave de integração",
    "contrato": "📄 Contrato",
    "software": "💻 Software",
    "acesso": "🔗 Acessar software do cliente",
    "gerenciar": "⚙️ Gerenciar",
    "historico": "🕓 Histórico",
    "cliente": "🏢 Cliente",
    "clientes": "👥 Clientes",
    "novo_cliente": "➕ Novo cliente",
    "novo_cadastro": "➕ Novo cadastro",
    "link": "🔗 Enviar link de contratação",
    "links_enviados": "🔗 Links enviados",
    "meus_dados": "👤 Meus dados",
    "senha": "🔒 Senha",
    "pagamento": "💳 Pagamento",
    "faturas": "🧾 Minhas faturas",
}
SHORTCUT_DETAIL = " — {detail}"
SHORTCUT_SEARCH = "🔎 Clientes com “{query}”"
SHORTCUT_BOLETO = "🧾 Boleto da fatura {competencia}"
SHORTCUT_SEVERAL = "{feature}\nEncontrei {n} clientes com “{query}”. De qual deles?"
SHORTCUT_MORE = "Mostro os {shown} primeiros: digite mais do nome ou do CNPJ para achar outro."
SHORTCUT_NONE = (
    "{feature}\nNão encontrei nenhum cliente com “{query}”. Digite outra parte do nome ou do "
    "CNPJ, ou toque em Clientes para ver a lista."
)
SHORTCUT_WHICH_CLIENT = "{feature}\nDe qual cliente? Digite parte do nome ou do CNPJ."


# --- Pendências (handlers/pendencias.py) ---
PENDENCIAS_BUTTON = "Pendências ({count})"
VER_PENDENCIAS = "Ver pendências"
PENDENCIAS_EMPTY = (
    "✅ Nenhuma pendência: nenhum certificado vencendo, contrato esquecido em Teste, link "
    "parado, fatura em aberto ou cliente que parou de emitir."
)
PENDENCIAS_HEADER = "📋 Pendências ({total:n}) — página {page:n} de {pages:n}"
PENDENCIAS_HINT = "Toque no número de uma pendência para resolvê-la."
# Each group's title, with what its buttons do.
PENDENCIAS_GROUP = "{title} ({count}){overdue}"
PENDENCIAS_GROUP_OVERDUE = " — {overdue:já venceu|já venceram}"
PENDENCIAS_TITLES = {
    "certificado": "🔐 Certificado digital vencido ou vencendo → Enviar certificado",
    "manifestacao": "📥 Notas de fornecedores aguardando manifestação → Manifestar",
    "resumo": "📥 Notas de fornecedores só com o resumo, sem o XML → Ciência",
    "fatura": "🧾 Minhas faturas em aberto → Gerar boleto",
    "link": "🔗 Links de contratação abertos e não concluídos",
    "teste": "📄 Clientes em Teste há mais de {dias} dias → Contrato",
    "sem_notas": "📉 Clientes que emitiam e ficaram um mês sem notas",
}
# The contador cannot act on a certificate or a contract: the same groups, read only.
PENDENCIAS_TITLES_CONTADOR = {
    "certificado": "🔐 Certificado digital vencido ou vencendo",
    "manifestacao": "📥 Notas de fornecedores aguardando manifestação",
    "resumo": "📥 Notas de fornecedores só com o resumo, sem o XML",
    "teste": "📄 Clientes em Teste há mais de {dias} dias",
}
PENDENCIA_CERT = "{n}. {name} — certificado {when} ({until})"
PENDENCIA_FATURA = "{n}. Fatura {competencia} — {when} {due}"
PENDENCIA_FATURA_VENCIDA = "venceu em"
PENDENCIA_FATURA_VENCE = "vence em"
PENDENCIA_LINK = "{n}. {software}, {plan} — aberto em {opened}, expira em {expires}"
PENDENCIA_TESTE = "{n}. {name} — em Teste desde {since}"
PENDENCIA_SEM_NOTAS = "{n}. {name} — nenhuma nota em {competencia}"
PENDENCIA_MANIFESTACAO = "{n}. {name} — nota de {emitente}: manifestar até {until} ({left})"
PENDENCIA_RESUMO = "{n}. {name} — resumo de {emitente} sem o XML: Ciência até {until} ({left})"
PENDENCIA_DIAS = "{dias:dia|dias}"
PENDENCIA_BUTTON = "{n}. {name}"
PENDENCIA_BUTTON_FATURA = "{n}. Boleto {competencia}"
PENDENCIA_BUTTON_LINK = "{n}. Link {software}"
# The daily digest: counts per group, one button.
PENDENCIAS_DIGEST = "📋 Bom dia! Pendências do escritório{new}:\n\n{lines}"
PENDENCIAS_DIGEST_NEW = " ({n:nova|novas} desde o último resumo)"
PENDENCIAS_DIGEST_LINE = "• {title}: {count}"
PENDENCIAS_DIGEST_TITLES = {
    "certificado": "Certificados vencidos ou vencendo",
    "manifestacao": "Notas aguardando manifestação",
    "resumo": "Notas de fornecedores sem o XML",
    "fatura": "Faturas em aberto",
    "link": "Links abertos e não concluídos",
    "teste": "Clientes em Teste há muito tempo",
    "sem_notas": "Clientes que pararam de emitir",
}
PENDENCIAS_DIGEST_OVERDUE = " ({n:já venceu|já venceram})"
# -- SEFAZ: capture notices, manifestação, consulta --
FORN_NOVAS_NOTICE = (
    "📥 {quantidade} nota{s} nova{s} de fornecedores para {nome}, recebida{s} da SEFAZ."
)
VER_PENDENTES = "Ver Pendentes"
SEFAZ_CONFIG = "Conexão SEFAZ"
SEFAZ_CONFIG_TEXT = (
    "🔗 Conexão SEFAZ de {name}\n{captura}\n{ciencia}\n\n"
    "Captura de notas: busca na SEFAZ, com o certificado A1 do cliente, as notas emitidas para "
    "ele (no máximo uma consulta por hora quando não há novidade).\n"
    "Ciência automática: registra a Ciência da Operação de cada resumo novo, para que o XML "
    "completo chegue na captura seguinte."
)
SEFAZ_CAPTURA = "Captura de notas"
SEFAZ_CIENCIA = "Ciência automática"
SEFAZ_SWITCH_LINE = "{mark} {label}: {state}"
SEFAZ_ON, SEFAZ_OFF = "ligada", "desligada"
SEFAZ_SWITCHED = "✅ {label}: {state}."
# Manifestação do destinatário (XMLs de fornecedores)
FORN_RESUMO = "\n📝 Sem XML: só o resumo da SEFAZ chegou. Registre a Ciência para receber o XML."
FORN_PRAZO = "\n⏳ {prazo}"
FORN_PRAZO_CIENCIA = "; Ciência até {ate} ({dias} dias)"
MANIF_CIENCIA = "Ciência"
MANIF_CONFIRMAR = "Confirmar operação"
MANIF_DESCONHECER = "Desconhecer"
MANIF_NAO_REALIZADA = "Não realizada"
MANIF_CONFIRM = (
    "Enviar à SEFAZ o evento {rotulo} ({codigo}) da nota nº {numero} de {emitente}?\n"
    "O evento é assinado com o certificado A1 do cliente e não pode ser desfeito.{just}"
)
MANIF_CONFIRM_JUST = "\nJustificativa: {just}"
MANIF_SEND = "Enviar à SEFAZ"
MANIF_ASK_JUST = (
    "Escreva a justificativa da Operação não Realizada (de 15 a 255 caracteres): por que a "
    "operação não aconteceu?"
)
MANIF_OK = "✅ {rotulo} registrada na SEFAZ (protocolo {protocolo})."
RECONHECER_E_CONFIRMAR = (
    "Quer também confirmar a operação na SEFAZ? Toque em Enviar à SEFAZ; para ficar só com o "
    "reconhecimento, toque em Voltar."
)
BAIXAR_XML_COMPLETO = "Baixar XML completo"
XML_COMPLETO_OK = "✅ XML completo recebido da SEFAZ: a nota já está guardada com o XML."
XML_COMPLETO_RECUSADO = "⚠️ A SEFAZ não entregou o XML completo: {c_stat} – {x_motivo}"
FORN_EVENTOS = "\n📜 Eventos:"
FORN_EVENTO = "\n• {nome} — {quando}"
FORN_EVENTO_PROTOCOLO = " (protocolo {protocolo})"
# tpEvento → the event's name on the note screen (others show their descEvento)
EVENTO_NOMES = {
    "210210": "Ciência da operação",
    "210200": "Confirmação da operação",
    "210220": "Desconhecimento da operação",
    "210240": "Operação não realizada",
    "110111": "Cancelamento",
    "110112": "Cancelamento por substituição",
    "110110": "Carta de correção",
}
MANIF_RECUSADA = "⚠️ A SEFAZ recusou {rotulo}: {c_stat} – {x_motivo}"
SEFAZ_INDISPONIVEL = (
    "A conexão com a SEFAZ não está configurada neste servidor. Fale com o suporte."
)
# Consultar nota (main menu)
CONSULTAR_NOTA = "Consultar nota"
CONSULTA_ASK = (
    "🔎 Consultar nota: digite ou cole a chave de acesso (44 números; espaços, pontos e o "
    "prefixo NFe podem vir juntos) ou envie uma foto do DANFE ou do DANFCE."
)
CONSULTA_RESULT = "🔎 Nota {chave}\nSituação: {situacao}\n{linhas}"
CONSULTANDO_SEFAZ = "🔎 Consultando a SEFAZ pela chave {chave}… A resposta chega aqui."
CONSULTA_ARQUIVO = "Guardada para {cliente} ({tipo})."
CONSULTA_SEFAZ = "Consultada agora na SEFAZ com o certificado de {cliente}: {c_stat} – {x_motivo}."
CONSULTA_TIPOS = {"emitida": "nota emitida", "fornecedor": "nota de fornecedor"}
CONSULTA_SEM_XML = "Só o resumo da SEFAZ está guardado (sem XML)."
CONSULTA_EMITENTE = "Emitente: {v}"
CONSULTA_DEST = "Destinatário: {v}"
CONSULTA_VALOR = "Valor (vNF): {v}"
CONSULTA_DATA = "Emissão: {v}"
CONSULTA_PROTOCOLO = "Protocolo: {v}"
CONSULTA_FOTO_FILE = "Envie a foto como imagem (JPG ou PNG) do DANFE ou do DANFCE."
DANFE_PDF = "DANFE (PDF)"
MANIFESTAR = "Manifestar"
OUTRA_CONSULTA = "Outra consulta"
# -- Pacote do mês (fechamento) ----------------------------------------------------------------
PACOTE_READY = "📦 Pacotes de {mes} prontos: {clientes:cliente|clientes}, {notas:nota|notas}."
PACOTE_READY_HINT = (
    "Cada pacote tem os XMLs emitidos (NF-e e NFC-e, com os cancelamentos), os XMLs de "
    "fornecedores, o relatório em PDF e XLSX e um resumo.txt. Os contadores com e-mail "
    "cadastrado já receberam o seu."
)
PACOTE_ONE = "Baixar de um cliente"
PACOTE_ALL = "Baixar todos"
PACOTE_LIST = (
    "📦 Pacotes de {mes}: {clientes:cliente|clientes}, {notas:nota|notas}.\nDe qual cliente?"
)
PACOTE_LIST_PAGE = "Página {page:n} de {pages:n}."
PACOTE_ITEM = "{cliente} ({notas:nota|notas})"
PACOTE_NONE = "Nenhum pacote pronto de {mes}."
PACOTE_CAPTION = "📦 Pacote de {mes} — {cliente}"
PACOTE_TOO_BIG = (
    "📦 O pacote {nome} passa do limite de envio deste canal. Baixe pelo link (vale por "
    "tempo limitado):"
)
PACOTE_LINK = "Baixar {nome}"
PACOTE_GENERATING_ALL = (
    "⏳ Juntando os pacotes de {mes} ({clientes:cliente|clientes}) num ZIP… Envio aqui assim "
    "que ficar pronto."
)
PACOTE_ALL_CAPTION = "📦 Pacotes de {competencia}: {clientes:cliente|clientes}."
PACOTE_ALL_TOO_BIG = "O pacote {nome} é grande demais para ir junto; baixe pelo link:"
PACOTE_TOGGLE = "Pacote mensal: {estado}"
PACOTE_ON = "ligado"
PACOTE_OFF = "desligado"
PACOTE_TOGGLED = (
    "📦 Pacote mensal de {name}: {estado}. No dia {dia} de cada mês o contador recebe o "
    "pacote do mês anterior por e-mail."
)
