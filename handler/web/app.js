// The results page: POST uploads, post the photo to S3, long-poll its diagnosis, show recent ones.
// Everything from the network is shown with textContent / attributes, never parsed as HTML.
(function () {
  "use strict";

  var ACCEPTED = ["image/jpeg", "image/png", "image/webp"];
  var WAIT_S = 20; // GET /diagnoses/{key}?wait=20: the server holds the request until the result or 20 s
  var MAX_WAITS = 9; // about three minutes of waiting before giving up
  var GALLERY_PAGE = 12;

  // The page is served at the API's root: "/" locally, "/Prod" or "/Prod/" behind a stage.
  var base = location.pathname.replace(/index\.html$/, "");
  if (base.charAt(base.length - 1) !== "/") base += "/";

  var input = document.getElementById("photo");
  var drop = document.getElementById("drop");
  var progressRow = document.getElementById("progress-row");
  var progress = document.getElementById("progress");
  var status = document.getElementById("status");
  var resultSection = document.getElementById("result");
  var card = document.getElementById("card");
  var gallery = document.getElementById("gallery");
  var galleryStatus = document.getElementById("gallery-status");
  var more = document.getElementById("more");
  var photoUrl = null;
  var nextPage = null;
  var busy = false;

  document.getElementById("docs-link").href = base + "docs";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function readable(label) {
    // "Potato___Early_blight" -> "Potato — Early blight": PlantVillage's "___" joins plant and condition.
    return String(label).split("___").join(" — ").replace(/_/g, " ").replace(/\s+/g, " ").trim();
  }

  function labelOf(result) {
    if (typeof result.display_label === "string" && result.display_label) return result.display_label;
    return result.label ? readable(result.label) : "";
  }

  function percent(value) {
    return typeof value === "number" && isFinite(value) ? Math.round(value * 1000) / 10 + "%" : "–";
  }

  function keyPath(key) {
    return key.split("/").map(encodeURIComponent).join("/");
  }

  function keyOf(item) {
    if (typeof item.key === "string") return item.key;
    var image = String(item.image || "");
    var match = /^s3:\/\/[^/]+\/(.*)$/.exec(image);
    return match ? match[1] : image;
  }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function errorText(payload, response) {
    if (response.status === 401 || response.status === 403) {
      // AWS_IAM, API keys and JWTs: a page cannot sign or hold them (docs/api.md, "The results page").
      return "this API needs credentials the page cannot send (it answered " + response.status + "). " +
        "Use the page through `make api` or a Function URL with ApiAuth=NONE.";
    }
    if (payload && typeof payload.message === "string") return payload.message;
    return "the server answered " + response.status;
  }

  function readJson(response) {
    return response.text().then(function (text) {
      try {
        return text ? JSON.parse(text) : null;
      } catch (exc) {
        return null;
      }
    });
  }

  function api(path, options) {
    return fetch(base + path, options).then(function (response) {
      return readJson(response).then(function (payload) {
        return { response: response, payload: payload };
      });
    });
  }

  function askForUpload(file) {
    return api("uploads", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: file.name, content_type: file.type }),
    }).then(function (answer) {
      if (!answer.response.ok) throw new Error("The upload was refused: " + errorText(answer.payload, answer.response));
      return answer.payload;
    });
  }

  function s3Error(xhr) {
    // S3 answers errors in XML: read its <Message> as text.
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "application/xml");
      var message = doc.getElementsByTagName("Message")[0];
      if (message) return message.textContent;
    } catch (exc) {
      /* not XML: fall through */
    }
    return "storage answered " + xhr.status;
  }

  function postToStorage(post, file) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(post.fields || {}).forEach(function (name) {
        form.append(name, post.fields[name]);
      });
      form.append("file", file); // S3 ignores every field after the file: it goes last
      var xhr = new XMLHttpRequest();
      xhr.open("POST", post.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) return;
        progress.max = event.total;
        progress.value = event.loaded;
        say("Uploading… " + Math.round((100 * event.loaded) / event.total) + "%");
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          progress.value = progress.max;
          resolve();
        } else {
          reject(new Error("The upload failed: " + s3Error(xhr)));
        }
      });
      xhr.addEventListener("error", function () {
        reject(new Error("The upload failed: storage could not be reached."));
      });
      xhr.send(form);
    });
  }

  function waitForResult(key, attempt) {
    return api("diagnoses/" + keyPath(key) + "?wait=" + WAIT_S, { headers: { Accept: "application/json" } }).then(
      function (answer) {
        if (answer.response.ok) return answer.payload;
        if (answer.response.status === 404 && attempt < MAX_WAITS) return waitForResult(key, attempt + 1);
        if (answer.response.status === 404) throw new Error("No diagnosis yet after a few minutes; look for it below later.");
        throw new Error("Reading the diagnosis failed: " + errorText(answer.payload, answer.response));
      }
    );
  }

  function confidenceBar(value, label) {
    var meter = el("meter", "confidence");
    meter.min = 0;
    meter.max = 1;
    meter.value = typeof value === "number" ? value : 0;
    meter.setAttribute("aria-label", label + ": " + percent(value));
    return meter;
  }

  function renderResult(result, file) {
    card.replaceChildren();
    var figure = el("figure", "card-photo");
    var img = el("img");
    img.src = photoUrl;
    img.alt = "The photo you uploaded: " + file.name;
    figure.appendChild(img);
    card.appendChild(figure);
    var body = el("div", "card-body");
    card.appendChild(body);

    if (result.status === "rejected") {
      body.appendChild(el("p", "verdict rejected", "This photo was not diagnosed"));
      body.appendChild(el("p", "reason", result.error || result.reason || "It is not an image the model can read."));
    } else if (result.recognized === false) {
      body.appendChild(el("p", "verdict unrecognised", "Not recognised"));
      body.appendChild(el("p", "reason", result.reason || "The model does not know what this is."));
      if (result.label) body.appendChild(el("p", "hint", "Closest guess: " + labelOf(result) + " (" + percent(result.confidence) + ")"));
    } else {
      body.appendChild(el("p", "verdict", labelOf(result)));
      var row = el("div", "confidence-row");
      row.appendChild(confidenceBar(result.confidence, "Confidence"));
      row.appendChild(el("span", "confidence-text", percent(result.confidence) + " confident"));
      body.appendChild(row);
    }
    var topK = Array.isArray(result.top_k) ? result.top_k : [];
    if (topK.length > 1 && result.status !== "rejected") {
      body.appendChild(el("h3", "", "Other possibilities"));
      var list = el("ol", "top-k");
      topK.forEach(function (candidate) {
        var item = el("li");
        var name = candidate.display_label || readable(candidate.label || "");
        item.appendChild(el("span", "candidate", name));
        item.appendChild(confidenceBar(candidate.confidence, name));
        item.appendChild(el("span", "confidence-text", percent(candidate.confidence)));
        list.appendChild(item);
      });
      body.appendChild(list);
    }
    var facts = el("dl", "facts");
    [["Key", keyOf(result)], ["Model", result.model_version], ["Diagnosed", result.diagnosed_at]].forEach(function (pair) {
      if (!pair[1]) return;
      facts.appendChild(el("dt", "", pair[0]));
      facts.appendChild(el("dd", "", pair[1]));
    });
    body.appendChild(facts);
    resultSection.hidden = false;
  }

  function diagnose(file) {
    if (busy) return;
    if (!file) return;
    if (ACCEPTED.indexOf(file.type) < 0) {
      say("Please choose a JPEG, PNG or WebP photo (this is " + (file.type || "an unknown type") + ").", true);
      return;
    }
    busy = true;
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photoUrl = URL.createObjectURL(file);
    resultSection.hidden = true;
    progress.value = 0;
    progress.max = file.size || 1;
    progressRow.hidden = false;
    say("Asking where to upload…");
    var key = null;
    askForUpload(file)
      .then(function (post) {
        key = post.key;
        say("Uploading… 0%");
        return postToStorage(post, file);
      })
      .then(function () {
        say("Uploaded. Waiting for the diagnosis…");
        return waitForResult(key, 1);
      })
      .then(function (result) {
        renderResult(result, file);
        say("Done.");
        loadGallery(null);
      })
      .catch(function (exc) {
        say(exc.message || String(exc), true);
      })
      .then(function () {
        busy = false;
        input.value = "";
      });
  }

  function galleryItem(item) {
    var li = el("li", "tile");
    var figure = el("figure");
    var key = keyOf(item);
    if (typeof item.thumbnail_url === "string" && /^https?:/.test(item.thumbnail_url)) {
      var img = el("img");
      img.loading = "lazy";
      img.src = item.thumbnail_url;
      img.alt = "Photo " + key;
      figure.appendChild(img);
    } else {
      figure.appendChild(el("div", "no-thumbnail", "no preview"));
    }
    var caption = el("figcaption");
    if (item.status === "rejected") caption.appendChild(el("strong", "rejected", "Rejected"));
    else if (item.recognized === false) caption.appendChild(el("strong", "unrecognised", "Not recognised"));
    else caption.appendChild(el("strong", "", labelOf(item)));
    if (item.status !== "rejected") caption.appendChild(el("span", "confidence-text", percent(item.confidence)));
    caption.appendChild(el("span", "tile-key", key.split("/").pop()));
    figure.appendChild(caption);
    li.appendChild(figure);
    return li;
  }

  function loadGallery(next) {
    var query = "diagnoses?limit=" + GALLERY_PAGE + (next ? "&next=" + encodeURIComponent(next) : "");
    galleryStatus.textContent = "Loading…";
    more.disabled = true;
    api(query, { headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.response.ok) throw new Error("Recent diagnoses could not be read: " + errorText(answer.payload, answer.response));
        var items = (answer.payload && answer.payload.items) || [];
        if (!next) gallery.replaceChildren();
        items.forEach(function (item) {
          gallery.appendChild(galleryItem(item));
        });
        nextPage = (answer.payload && answer.payload.next) || null;
        more.hidden = !nextPage;
        galleryStatus.textContent = gallery.children.length ? "" : "Nothing diagnosed yet.";
      })
      .catch(function (exc) {
        galleryStatus.textContent = exc.message || String(exc);
      })
      .then(function () {
        more.disabled = false;
      });
  }

  input.addEventListener("change", function () {
    diagnose(input.files && input.files[0]);
  });
  ["dragenter", "dragover"].forEach(function (name) {
    drop.addEventListener(name, function (event) {
      event.preventDefault();
      drop.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    drop.addEventListener(name, function () {
      drop.classList.remove("dragging");
    });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    diagnose(event.dataTransfer && event.dataTransfer.files[0]);
  });
  more.addEventListener("click", function () {
    if (nextPage) loadGallery(nextPage);
  });

  loadGallery(null);
})();
