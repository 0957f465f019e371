"""Cue lexicons used as extra dense features: thirteen English/Italian groups and their thirteen
Portuguese/Spanish/French/German counterparts.

Each cue group gives one feature: ``log(1 + number of its cue words/bigrams in the normalised
mention)``.  English and Italian cues of a group feed the *same* feature, so what the model
learns about "refund" on English tweets also applies to "rimborso" in an Italian review, and
what it learns about "shares fell" in SemEval headlines applies to a Financial-PhraseBank
sentence it has never seen.  The groups pool evidence across sources and languages: that is
why they generalise better than individual n-grams (docs/classifier.md, "Design").

Eleven groups point at a department; two describe *who is talking* (first person = an author
with their own case or job; second person = addressing the company), which separates
complaints and employee posts from news written in the third person.

Entries (comma-separated) are unigrams or bigrams, written in normalised form (lower-case,
no accents, digits as ``0``; :func:`routing_models.normalize.normalize` is applied to them
anyway).  Keep entries specific: a word common in every department only adds noise.  The
lists were written from the label guide and general domain knowledge; ambiguous entries
(Italian "lavoro", "concorso", "causa", "accordo", English "fine", "pay", "promotion"…) were
pruned after reading model errors, including errors on dev_crosssource – so that file is no
longer a perfectly clean hold-out for the lexicon (docs/classifier.md says so too).

Mentions also arrive in other languages (an Italian firm hears from Brazilian employees, Spanish
customers, Swiss and French press).  ``_OTHER_LANGUAGES`` holds Portuguese, Spanish, French and
German cues for each group; they feed a *separate* feature per group (``care_problem_other_langs``
…), whose weight is learned from the bundled ``seed_more_languages.jsonl``.  Feeding them into the
English/Italian features instead routed the other languages slightly better but cost the
English/Italian sources in leave-one-source-out validation.  Words
that also exist in English or Italian with another department's meaning were left out (for
example Portuguese "eu", which is the English "EU"; French "prix", which is both price and award;
Spanish "oferta", which is both a promotion and a job offer; German "Filiale" and "Börse" and
French "merci", which are Italian words too).
"""

from __future__ import annotations

__all__ = ["CUE_GROUPS", "GROUP_DEPARTMENT", "DEPARTMENTS", "LEXICON", "OTHER_SUFFIX"]

DEPARTMENTS: tuple[str, ...] = ("customer_care", "hr", "marketing", "pr")

_GROUPS: dict[str, tuple[str | None, str]] = {
    "care_problem": (
        "customer_care",
        """
        broken, not working, not work, stopped working, doesnt work, never arrived, not arrived,
        crash, crashes, crashed, crashing, error, errors, glitch, bug, bugs, freezes, frozen,
        stuck, fails, failed, failing, outage, down again, no signal, no internet, no service,
        missing, lost, damaged, defective, faulty, delayed, late again, cancelled, canceled,
        overcharged, double charged, charged twice, declined, locked out, blocked, suspended,
        wrong item, wrong size, disconnected, dropped, drained, dead, unable, can not, cannot,
        wont, problem, problems, issue, issues, non funziona, non va, non riesco, mai ricevuto,
        non arriva, mai arrivato, non consegnato, smesso di, rotto, rotta, guasto, guasta,
        difettoso, difettosa, errore, si blocca, bloccato, bloccata, crasha, si chiude, non carica,
        disservizio, ritardo, in ritardo, mancante, sbagliato, sbagliata, addebitato due,
        doppio addebito, problema, problemi, nessuna risposta, nessuno risponde, ancora niente,
        impossibile
        """,
    ),
    "care_request": (
        "customer_care",
        """
        help, help me, is my, does my, fixing, fixed, replaced, replacing, please help, need help,
        please fix, fix this, fix it, how do, how can, can you, could you, dm, dm me, dmed,
        sent you, reply, respond, still waiting, waiting for, no reply, no response, no answer,
        on hold, call back, ticket, case number, reference number, complaint, escalate, support,
        customer service, customer support, contact you, reach you, any update, update me,
        sort this, resolve, aiuto, aiutatemi, potete, potreste, come faccio, come posso,
        perche non, rispondete, rispondere, attendo, sto aspettando, aspetto da, in attesa,
        sollecito, segnalazione, reclamo, assistenza, servizio clienti, assistenza clienti,
        numero verde, operatore, contattarvi, chiamato, ho chiamato, ho scritto, ho chiesto,
        risolvere, risolto, for fixing, the help
        """,
    ),
    "care_account": (
        "customer_care",
        """
        my order, order, orders, order number, tracking, tracking number, delivery, delivered,
        parcel, package, shipment, shipped, courier, my account, account, log in, login, logged,
        password, verification, bill, billing, my bill, invoice, payment, charged, charge, refund,
        refunds, refunded, reimbursement, subscription, my subscription, renewal, cancel,
        cancellation, unsubscribe, warranty, return, replacement, repair, exchange, my card,
        my phone, my device, my app, booking, reservation, flight, luggage, baggage, voucher,
        compensation, rebook, appointment, meter, mio ordine, ordine, numero ordine, consegna,
        consegnato, pacco, spedizione, spedito, corriere, tracciamento, mio account, accesso,
        accedere, credenziali, spid, bolletta, bollette, fattura, fatture, pagamento, pagamenti,
        addebito, addebiti, rimborso, rimborsi, rimborsare, abbonamento, rinnovo, disdetta,
        disdire, annullare, recesso, garanzia, reso, sostituzione, riparazione, prenotazione, volo,
        bagaglio, appuntamento, contatore, voltura, allaccio, utenza, mia domanda, mia pratica,
        pensione, indennita, isee, naspi, cedolino, estratto conto
        """,
    ),
    "hr_job": (
        "hr",
        """
        job, jobs, hiring, hire, hired, career, careers, apply, applied, applying, application,
        applications, applicant, candidate, candidates, interview, interviews, interviewed,
        interviewing, recruiter, recruiters, recruiting, recruitment, resume, cv, cover letter,
        position, positions, vacancy, vacancies, openings, role, roles, internship, internships,
        intern, job offer, offer letter, full time, part time, remote, onsite, are hiring,
        join our, looking for, apply now, job search, unemployed, job hunting, new job, first job,
        my job, rejection, senior, junior, engineer, developer, skills, qualifications,
        requirements, assunzione, assunzioni, assumere, assume, assunto, assunta, candidatura,
        candidature, candidarsi, candidato, candidati, colloquio, colloqui, concorsi, bando,
        graduatoria, tirocinio, tirocini, stagista, offerta di, offerte di, posizione, ricerchiamo,
        cerchiamo, cercasi, requisiti, curriculum, risorsa, inserimento, si occupera, sede di, ral,
        tempo pieno, tempo indeterminato, tempo determinato, sviluppatore, posto di, cerco lavoro,
        nuovo lavoro, primo lavoro, preselezione, orali, prova scritta, idonei, mansione, mansioni,
        concorso pubblico, concorsi pubblici, concorso per, figura professionale,
        esperienza lavorativa, di esperienza, years experience
        """,
    ),
    "hr_workplace": (
        "hr",
        """
        team, teams, organization, organisation, decision making, responsibilities, learn,
        learning, smart people, freedom, flexibility, flexible, work environment, leadership,
        upper management, senior management, politics, bureaucracy, red tape, room for,
        opportunities, perks, snacks, free food, pay scale, good pay, low pay, long hours,
        work hours, stressful, stress, pressure, burnout, appraisal, hike, increment, job security,
        health insurance, squadra, organizzazione, ambiente lavorativo, opportunita, meritocrazia,
        pressione, buoni pasto, mensa, flessibilita, dirigenza, clima aziendale, gestione del,
        straordinari non, manager, managers, my manager, my boss, boss, supervisor, coworker,
        coworkers, co-workers, colleagues, colleague, team lead, salary, salaries, underpaid,
        pay raise, benefits, pto, vacation days, sick days, shift, shifts, overtime, workload,
        work life, life balance, culture, management, employer, employees, my employer, onboarding,
        training, fired, quit, quitting, resign, resigned, resignation, severance, notice period,
        weeks notice, layoff, laid off, workplace, hr, human resources, pros, cons, great place,
        place to, to work, toxic, micromanagement, career growth, growth opportunities, from home,
        wfh, performance review, capo, mio capo, colleghi, collega, stipendio, stipendi,
        busta paga, retribuzione, ferie, permessi, turni, turno, straordinari, carico di,
        datore di, ambiente di, welfare, smart working, licenziato, licenziata, licenziamento,
        dimissioni, dimettermi, preavviso, tfr, liquidazione, contratto di, crescita professionale,
        carriera, formazione, azienda seria, dipendente, dipendenti, sottopagato, sottopagati,
        precari, precario
        """,
    ),
    "mkt_opinion": (
        "marketing",
        """
        love, loving, loved, lovely, amazing, awesome, great, best, favorite, favourite, cool,
        beautiful, excellent, fantastic, perfect, wonderful, brilliant, impressed, recommend,
        recommended, highly recommend, worth it, worst, terrible, awful, horrible, disappointed,
        disappointing, overrated, sucks, meh, boring, ugly, quality, design, looks, gorgeous,
        delicious, tasty, yummy, friendly, atmosphere, vibe, stars, five stars, fan, fans,
        obsessed, cant wait, excited, feature, features, better, hate, hated, like it, like the,
        nice, sleek, beats, fail, epic, adoro, amo, bellissimo, bellissima, bello, bella,
        fantastico, fantastica, ottimo, ottima, perfetto, perfetta, stupendo, meraviglioso,
        consigliato, consigliata, consigliatissimo, top, pessimo, pessima, deludente, delusione,
        delusa, deluso, schifo, buonissimo, buonissima, qualita, gentilissimi, cordiale,
        soddisfatto, soddisfatta, migliore, peggiore, carino, carina, comodo, comoda, funzionale,
        peccato, stelle, cinque stelle
        """,
    ),
    "mkt_wish": (
        "marketing",
        """
        wish, i wish, should add, please add, add a, add the, bring back, would love, should have,
        should make, when will, when are, next update, option to, ability to, feature request,
        suggestion, suggest, why not, needs to, to add, make it, let us, allow us, sarebbe bello,
        sarebbe utile, sarebbe carino, aggiungete, aggiungere, vorrei che, potreste aggiungere,
        manca, mancano, suggerimento, proposta, prossimo aggiornamento, migliorare
        """,
    ),
    "mkt_commerce": (
        "marketing",
        """
        price, prices, pricing, cheap, cheaper, expensive, overpriced, affordable, discount,
        discounts, sale, sales event, promo, promotion, coupon, offer, offers, deals, launch,
        launched, launching, new, release, released, available, in stock, buy, buying, bought,
        purchase, purchased, preorder, pre order, order one, want one, store, shop, opening,
        grand opening, collection, edition, limited edition, contest, giveaway, win, sponsor,
        sponsored, sponsorship, partnership, collab, collaboration, influencer, creator, campaign,
        commercial, ad, ads, advert, brand, brands, vs, better than, compared to, switch to,
        switched, upgrade, unboxing, prezzo, prezzi, costa, costo, economico, conveniente, sconto,
        sconti, saldi, offerta, offerte, promozione, codice sconto, lancio, novita, nuovo, nuova,
        disponibile, comprare, acquistare, acquistato, comprato, acquisto, negozio, punto vendita,
        apertura, inaugurazione, collezione, vinci, in palio, concorso fotografico,
        sponsorizzazione, collaborazione, campagna, spot, pubblicita, marchio, meglio di,
        qualita prezzo, rapporto qualita, recensione, menu, ristorante, cena, pranzo, hotel,
        soggiorno
        """,
    ),
    "pr_finance": (
        "pr",
        """
        eur, usd, mn, net sales, operating profit, pretax, pre tax, per share, eps, fiscal,
        year earlier, corresponding period, order intake, contract worth, shares, share price,
        stock, stocks, shareholders, shareholder, investors, investor, earnings, revenue, revenues,
        sales rose, sales fell, profit, profits, net loss, loss, losses, quarter, quarterly,
        results, guidance, forecast, outlook, dividend, buyback, market, markets, market share,
        market cap, billion, million, bn, mln, percent, pct, ipo, stake, valuation, analyst,
        analysts, downgrade, wall street, nasdaq, nyse, ftse, dow, shares rose, shares fell, rose,
        fell, jumped, slumped, plunged, surged, tumbled, climbed, gains, gained, margin, margins,
        ebitda, debt, bond, azioni, azionisti, titolo, titoli, borsa, piazza affari, investitori,
        utile, utili, ricavi, fatturato, perdita, perdite, trimestre, semestre, bilancio,
        dividendo, mercato, mercati, miliardi, milioni, quota, capitalizzazione, analisti, rialzo,
        ribasso, crolla, vola, cresce, crescita, calo, debito, margine, risultati, ftse mib,
        spread, consob
        """,
    ),
    "pr_corporate": (
        "pr",
        """
        ceo, cfo, coo, chairman, chief executive, executive, executives, board, board of,
        president, founder, acquisition, acquire, acquires, acquired, merger, merge, takeover,
        buys, sells, sold, spin off, lawsuit, sues, sued, court, judge, ruling, settlement, fined,
        penalty, regulator, regulators, regulatory, antitrust, probe, investigation, investigated,
        inquiry, sec, ftc, doj, european commission, eu, government, scandal, fraud, bribery,
        corruption, boycott, petition, allegations, accused, layoffs, job cuts, cut jobs,
        cuts jobs, restructuring, strike, strikes, union, unions, workers, recall, patent, patents,
        data breach, sustainability, esg, emissions, carbon, climate, csr, award, awards,
        partnership agreement, agreement, plant, factory, closure, amministratore delegato,
        presidente, cda, consiglio di, di amministrazione, vertice, acquisizione, acquisisce,
        fusione, opa, cessione, cede, tribunale, sentenza, ricorso, multa, multata, sanzione,
        sanzioni, garante, indagine, inchiesta, procura, indagati, scandalo, frode, truffa,
        boicottaggio, petizione, licenziamenti, esuberi, cassa integrazione, sciopero, sindacati,
        sindacato, lavoratori, stabilimento, chiusura, sostenibilita, emissioni, premiato, intesa,
        convenzione, governo, ministro, ministero, ministra, regione, parlamento, decreto,
        fa causa, siglato, siglata
        """,
    ),
    "pr_news": (
        "pr",
        """
        announced, announces, announce, said, says, according to, report, reports, reported,
        reuters, bloomberg, press, journalist, journalists, reporter, reporters, media, statement,
        spokesperson, spokesman, breaking, news, headline, confirmed, unveiled, unveils, plans to,
        expected to, percent, annual, on monday, on tuesday, on wednesday, on thursday, on friday,
        officials, public, viral, going viral, outrage, backlash, annuncia, annunciato,
        ha annunciato, ha detto, rapporto, dati, comunicato, comunicato stampa, giornalista,
        giornalisti, intervista, dichiarazioni, dichiara, presentato, presentata, presenta, evento,
        convegno, webinar, conferenza, conferenza stampa, annuale, nazionale, pubblicato, firmato,
        firmata, diffuso, studio, iniziativa, polemica, polemiche, bufera, notizia, notizie
        """,
    ),
    "first_person": (
        None,
        """
        my, me, mine, myself, i have, i am, i was, i need, i want, i got, i just, i can, i m, i ve,
        i had, i did, i tried, i paid, i ordered, i called, i applied, i work, i worked, i love,
        i hate, i think, i bought, mio, mia, miei, mie, ho, ho fatto, ho chiesto, ho ricevuto,
        ho pagato, ho comprato, ho ordinato, sono stato, sono stata, mi hanno, mi e, mi sono, io,
        lavoro da, lavoro come
        """,
    ),
    "second_person": (
        None,
        """
        you, your, yours, you guys, u, ur, thank you, thanks, vostro, vostra, vostri, vostre, voi,
        vi, potete, dovete, siete, avete, grazie, ciao, buongiorno, salve, gentili
        """,
    ),
}


#: Suffix of the cue groups that hold the Portuguese, Spanish, French and German cues.
OTHER_SUFFIX = "_other_langs"

#: Cues in Portuguese, Spanish, French and German, per group (see the module docstring).
_OTHER_LANGUAGES: dict[str, str] = {
    "care_problem": """
        nao funciona, nao chegou, nunca chegou, quebrado, quebrada, com defeito, defeito, travando,
        erro, bloqueado, bloqueada, cobranca indevida, cobrado duas, sem sinal, sem internet,
        atrasado, atrasada, extraviada, extraviado, danificado, nao consigo, nenhuma resposta,
        ninguem responde, no funciona, no llega, no ha, nunca llego, roto, averiado, averiada,
        defectuoso, defectuosa, se bloquea, cobro indebido, sin senal, sin internet, sin servicio,
        retraso, retrasado, danado, no puedo, ninguna respuesta, nadie responde, nadie contesta,
        sigo esperando, ne marche, ne fonctionne, fonctionne plus, jamais recu, pas recu,
        toujours pas, en panne, panne, cassee, defectueux, defectueuse, bloquee, erreur,
        preleve deux, connexion, en retard, endommage, aucune reponse, personne ne,
        funktioniert nicht, geht nicht, nicht angekommen, nie angekommen, kaputt, defekt, defekte,
        fehler, gesperrt, doppelt abgebucht, kein internet, kein netz, storung, verspatet,
        verspatung, beschadigt, keine antwort, niemand antwortet, warte seit, immer noch
        """,
    "care_request": """
        ajuda, me ajudem, por favor, como faco, alguem pode, respondam, aguardo, aguardando,
        estou esperando, protocolo, reclamacao, sac, atendimento, central de, suporte, ouvidoria,
        resolvido, chamado, ayuda, ayudenme, como hago, como puedo, pueden, respondan,
        espero respuesta, reclamacion, queja, atencion al, servicio al, soporte, incidencia,
        solucionado, solucionen, aidez, aidez moi, comment faire, pouvez vous, repondez, attends,
        en attente, service client, sav, numero de, resolu, resoudre, hilfe, helft, bitte helfen,
        wie kann, konnen sie, warte auf, kundenservice, kundendienst, beschwerde, ticketnummer,
        kundennummer, gelost
        """,
    "care_account": """
        meu pedido, pedido, entrega, encomenda, rastreio, minha conta, senha, fatura, boleto,
        estorno, reembolso, pagamento, assinatura, cancelamento, cancelar, garantia, troca,
        devolucao, conserto, reserva, voo, bagagem, pix, cartao, mi pedido, envio, paquete,
        seguimiento, mi cuenta, contrasena, factura, cobro, devolucion, suscripcion, tarjeta,
        reparacion, vuelo, equipaje, maleta, cita, ma commande, colis, mon compte, mot de,
        facture, facturation, prelevement, paiement, remboursement, rembourse, abonnement,
        resiliation, resilier, garantie, echange, reparation, reservation, bagage, valise,
        meine bestellung, bestellung, lieferung, paket, sendung, sendungsverfolgung, mein konto,
        konto, passwort, rechnung, abbuchung, zahlung, erstattung, ruckerstattung, geld zuruck,
        umtausch, reparatur, reklamation, flug, gepack, koffer, termin
        """,
    "hr_job": """
        vaga, vagas, estamos contratando, contratando, contratacao, processo seletivo, candidatar,
        entrevista, entrevistas, curriculo, estagio, estagiario, estagiaria, jovem aprendiz,
        trainee, recrutador, recrutamento, clt, pj, remoto, concurso publico, requisitos, emprego,
        desempregado, desempregada, primeiro emprego, novo emprego, empleo, buscamos, contratamos,
        vacante, vacantes, proceso de, practicas, becario, becaria, reclutador, reclutamiento,
        jornada completa, media jornada, oposiciones, desempleado, desempleada, primer empleo,
        nuevo empleo, puesto, emploi, recrute, recrutons, recrutement, postuler, postule,
        embauche, stage, stagiaire, alternance, cdi, cdd, chomage, recruteur, stellenangebot,
        stellenanzeige, wir suchen, suchen wir, bewerbung, bewerben, bewerbe, bewerber,
        vorstellungsgesprach, lebenslauf, praktikum, praktikant, praktikantin, ausbildung, azubi,
        werkstudent, vollzeit, teilzeit, festanstellung, unbefristet, befristet, arbeitslos
        """,
    "hr_workplace": """
        ambiente de, clima organizacional, lugar para, para trabalhar, salario, salarios,
        beneficios, vale refeicao, vale alimentacao, vale transporte, convenio medico, plr,
        de horas, hora extra, horas extras, chefe, chefia, gestor, gestores, gestao, lideranca,
        colegas, equipe, rotatividade, carreira, de carreira, treinamento, treinamentos,
        reconhecimento, assedio, metas, home office, demitido, demitida, pedi demissao,
        funcionarios, contras, ambiente laboral, buen ambiente, mal ambiente, sueldo, sueldos,
        horas extra, turnos, jefe, jefes, jefa, companeros, companeras, equipo, rotacion,
        carrera profesional, formacion, teletrabajo, despedido, estres, acoso laboral, empleados,
        para trabajar, ambiance, bonne ambiance, salaire, salaires, remuneration, avantages,
        inconvenients, mutuelle, tickets restaurant, heures sup, heures supplementaires,
        mon manager, mon chef, collegues, equipe, turnover, evolution, teletravail,
        licencie, licenciee, demission, rupture conventionnelle, de travail, arbeitsklima,
        arbeitsatmosphare, betriebsklima, gehalt, gehalter, bezahlung, vergutung,
        zusatzleistungen, uberstunden, schichten, schichtdienst, vorgesetzte, vorgesetzter,
        mein chef, fuhrung, fuhrungskrafte, kollegen, kolleginnen, homeoffice, weiterbildung,
        karriere, aufstiegschancen, gekundigt, arbeitgeber, arbeitnehmer, mitarbeiter
        """,
    "mkt_opinion": """
        amei, adorei, otimo, otima, excelente, maravilhoso, maravilhosa, perfeito, perfeita, lindo,
        linda, incrivel, recomendo, super recomendo, pessimo, horrivel, decepcionado,
        decepcionada, decepcao, qualidade, gostoso, gostosa, delicioso, deliciosa, melhor, pior,
        bonito, bonita, estrelas, me encanta, encanta, encantado, encantada, genial, increible,
        maravilloso, perfecto, perfecta, precioso, preciosa, recomiendo, recomendable, pesimo,
        pesima, decepcionante, decepcion, calidad, riquisimo, mejor, peor, estrellas, buenisimo,
        adore, magnifique, parfait, parfaite, superbe, recommande, decevant, decevante, decu, decue,
        nul, nulle, qualite, delicieux, delicieuse, meilleur, meilleure, pire, joli, jolie,
        etoiles, dommage, toll, tolle, fantastisch, wunderbar, perfekt, hervorragend, empfehlen,
        empfehlenswert, enttauscht, enttauschend, schrecklich, furchtbar, mies, qualitat, lecker,
        beste, schlechteste, sterne
        """,
    "mkt_wish": """
        podiam, deveriam, seria bom, seria legal, gostaria que, adicionem, coloquem, sugestao,
        proxima atualizacao, voltem com, deberian, seria genial, estaria bien, ojala, anadan,
        sugerencia, proxima actualizacion, aimerais, ce serait, serait bien, ajoutez, ajouter,
        prochaine mise, wunsche mir, ware schon, ware toll, hinzufugen, vorschlag, nachstes update
        """,
    "mkt_commerce": """
        preco, precos, barato, barata, promocao, desconto, cupom, frete gratis, black friday,
        lancamento, disponivel, comprar, loja, inauguracao, colecao, sorteio, concorra, parceria,
        influenciador, campanha, marca, melhor que, custo beneficio, precio, precios, descuento,
        descuentos, rebajas, promocion, cupon, envio gratis, lanzamiento, nuevo, disponible,
        tienda, inauguracion, coleccion, sorteo, participa, colaboracion, patrocinio, marca,
        mejor que, calidad precio, pas cher, cher, chere, soldes, reduction, code promo,
        livraison gratuite, lancement, nouveau, acheter, achete, boutique, magasin, ouverture,
        jeu concours, gagner, partenariat, influenceur, campagne, marque, meilleur que,
        rapport qualite, preis leistung, gunstig, teuer, rabatt, angebot, gutschein, erhaltlich,
        kaufen, gekauft, geschaft, eroffnung, neueroffnung, kollektion, gewinnspiel,
        gewinnen, kooperation, werbung, marke, besser als
        """,
    "pr_finance": """
        acoes, acionistas, bolsa, investidores, lucro, lucro liquido, receita, faturamento,
        prejuizo, resultado, resultados, dividendos, dividendo, bilhao, bilhoes, milhoes, alta de, queda,
        divida, acciones, accionistas, ibex, inversores, beneficio neto, ingresos, perdidas,
        millones, deuda, analistas, cotizacion, actions, actionnaires, bourse, cac,
        investisseurs, benefice, benefice net, chiffre d, perte, pertes, resultats, dividende,
        milliards, dette, analystes, hausse, baisse, cotation, aktie, aktien, aktionare,
        dax, anleger, investoren, gewinn, nettogewinn, umsatz, verlust, verluste, quartal,
        geschaftsjahr, ergebnis, milliarden, millionen, schulden, analysten, prozent
        """,
    "pr_corporate": """
        diretor executivo, conselho, aquisicao, fusao, justica, multada, procon, anatel, cvm,
        investigacao, escandalo, fraude, boicote, peticao, demissoes, greve, sindicato,
        trabalhadores, vazamento, sustentabilidade, premiada, fabrica, fechamento, ministerio,
        consejero delegado, director ejecutivo, adquisicion, adquiere, demanda, juez,
        sentencia, cnmc, cnmv, investigacion, boicot, peticion, despidos, ere, huelga, sindicatos,
        trabajadores, sostenibilidad, galardon, planta, cierre, gobierno, pdg, directeur general,
        rachat, rachete, proces, juge, condamne, condamnee, amende, cnil, enquete, scandale,
        licenciements, plan social, greve, syndicats, syndicat, usine, fermeture, durabilite,
        developpement durable, gouvernement, ministre, vorstandschef, vorstand, aufsichtsrat,
        geschaftsfuhrer, ubernahme, ubernimmt, klage, verklagt, gericht, urteil, bussgeld, strafe,
        kartellamt, ermittlungen, skandal, betrug, boykott, stellenabbau, entlassungen, streik,
        gewerkschaft, werk, ruckruf, datenleck, nachhaltigkeit, auszeichnung, bundesregierung,
        ministerium
        """,
    "pr_news": """
        anuncia, anunciou, informou, comunicado, jornalista, jornalistas, reportagem, imprensa,
        divulgou, noticia, polemica, viralizou, repercussao, posicionamento, anuncio, informo,
        periodista, periodistas, prensa, rueda de, segun, declaraciones, selon, communique,
        journaliste, journalistes, presse, conference de, polemique, declaration, gab bekannt,
        teilte mit, laut, pressemitteilung, journalistin, medienbericht, berichtet, zeitung,
        shitstorm
        """,
    "first_person": """
        meu, minha, meus, minhas, yo, mis, je, mon, moi, ich, mein, meine, meinen, mir, mich
        """,
    "second_person": """
        voces, vcs, obrigado, obrigada, ola, bom dia, boa tarde, ustedes, gracias, hola,
        buenos dias, vuestro, vuestra, vous, votre, vos, bonjour, euch, eure, danke, hallo
        """,
}


def _phrases(block: str) -> list[str]:
    """Comma-separated cue phrases (unigrams or bigrams) of one block, in file order, de-duplicated."""
    seen: dict[str, None] = {}
    for p in block.replace("\n", " ").split(","):
        p = " ".join(p.split())
        if p:
            seen.setdefault(p, None)
    return list(seen)


#: group name → cue phrases (unigrams/bigrams), in feature order: the thirteen English/Italian
#: groups, then their ``<group>_other_langs`` counterparts (Portuguese, Spanish, French, German).
CUE_GROUPS: dict[str, list[str]] = {name: _phrases(block) for name, (_, block) in _GROUPS.items()}
CUE_GROUPS.update({f"{name}{OTHER_SUFFIX}": _phrases(_OTHER_LANGUAGES[name]) for name in _GROUPS})
#: group name → the department it points at (``None`` for the two style groups).
GROUP_DEPARTMENT: dict[str, str | None] = {name: dept for name, (dept, _) in _GROUPS.items()}
GROUP_DEPARTMENT.update({f"{name}{OTHER_SUFFIX}": dept for name, (dept, _) in _GROUPS.items()})
#: department → all cue phrases of its groups (for inspection and the fake classifier).
LEXICON: dict[str, list[str]] = {
    dept: [p for name, phrases in CUE_GROUPS.items() if GROUP_DEPARTMENT[name] == dept for p in phrases]
    for dept in DEPARTMENTS
}
