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
USE_BUTTONS = "Para seguir, toque em um dos botões abaixo (ou envie /menu)."
NO_FILE_HERE = "Não esperava um arquivo agora. Para seguir, use os botões abaixo."
CANCELLED = "Cancelado. Nada foi salvo."
NOTHING_TO_CANCEL = "Não havia nada em andamento."
UNKNOWN_COMMAND = "Não conheço o comando {command}. Os comandos são /menu, /cancelar e /ajuda."
COMING_SOON = "⏳ {feature} ainda não está disponível nesta versão do RevendaBot. Em breve!"

HELP = (
    "ℹ️ O RevendaBot é o painel do gestor dentro do chat.\n\n"
    "• Clientes: a lista e a busca dos seus clientes (digite parte do nome ou o CNPJ), "
    "o cartão de cada um e as ações de Gerenciar.\n"
    "• Novo cliente: cadastre um cliente aqui mesmo (Novo cadastro) "
    "ou envie um link de contratação.\n"
    "• Meus dados: dados da empresa, e-mails, senha, pagamento e faturas.\n\n"
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
    "empresa (ou ao suporte) e envie aqui: /start SEU-CODIGO.\n\n"
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
